"""Project commands (scrapy <command>)."""
