"""Item pipelines, in the order the add-on installs them:
clean → dates → validate → de-duplicate → stamp."""
