"""Vietnamese news text generator: titles, sapos, body paragraphs, names, slugs.

Everything is drawn from one ``random.Random`` so a seed fixes the whole site. The
phrase banks read like the portal's real copy (agencies, districts, campaigns), so
extraction is tested on text with the length and diacritics of the real thing.
"""

from __future__ import annotations

import random
import re
import unicodedata
from datetime import datetime

AGENCIES = (
    "UBND thành phố",
    "Thành ủy Hải Phòng",
    "HĐND thành phố",
    "Sở Giáo dục và Đào tạo",
    "Sở Y tế",
    "Sở Kế hoạch và Đầu tư",
    "Sở Tài chính",
    "Sở Xây dựng",
    "Sở Giao thông vận tải",
    "Sở Văn hóa và Thể thao",
    "Sở Du lịch",
    "Sở Nông nghiệp và Phát triển nông thôn",
    "Sở Lao động - Thương binh và Xã hội",
    "Sở Tài nguyên và Môi trường",
    "Sở Thông tin và Truyền thông",
    "Công an thành phố",
    "Bộ Chỉ huy Quân sự thành phố",
    "Bộ đội Biên phòng thành phố",
    "Quận ủy Lê Chân",
    "Quận ủy Hồng Bàng",
    "UBND quận Hải An",
    "UBND quận Kiến An",
    "Huyện ủy Thủy Nguyên",
    "UBND huyện An Dương",
    "UBND huyện Tiên Lãng",
    "UBND huyện Vĩnh Bảo",
    "UBND huyện Cát Hải",
    "Quận ủy Đồ Sơn",
    "UBND quận Dương Kinh",
    "Ban Quản lý Khu kinh tế Hải Phòng",
    "Liên đoàn Lao động thành phố",
    "Hội Liên hiệp Phụ nữ thành phố",
    "Thành đoàn Hải Phòng",
    "Ủy ban MTTQ Việt Nam thành phố",
    "Hội Nông dân thành phố",
    "Cục Hải quan Hải Phòng",
    "Cục Thuế thành phố",
    "Ban Tuyên giáo Thành ủy",
    "Ban Dân vận Thành ủy",
    "Ủy ban Kiểm tra Thành ủy",
    "Huyện ủy Kiến Thụy",
    "UBND huyện An Lão",
)

ACTIONS = (
    "triển khai",
    "tăng cường",
    "đẩy mạnh",
    "tổ chức",
    "hoàn thành",
    "kiểm tra",
    "sơ kết",
    "tổng kết",
    "phát động",
    "nâng cao hiệu quả",
    "quán triệt",
    "đôn đốc",
    "rà soát",
    "thúc đẩy",
)

# Topics per section slug: what that category's articles are about.
TOPICS = {
    "tin-tuc-su-kien": (
        "Hội nghị tổng kết công tác năm",
        "lễ kỷ niệm Ngày Giải phóng Hải Phòng",
        "Lễ hội Hoa Phượng Đỏ",
        "hội nghị xúc tiến đầu tư",
        "chương trình giao lưu hữu nghị",
        "đón tiếp đoàn công tác của Chính phủ",
        "hoạt động đối ngoại với các địa phương kết nghĩa",
        "lễ khánh thành cầu Hoàng Văn Thụ",
        "hội nghị gặp mặt doanh nghiệp đầu năm",
    ),
    "kinh-te": (
        "thu ngân sách nhà nước",
        "thu hút vốn đầu tư trực tiếp nước ngoài",
        "sản xuất công nghiệp",
        "xuất nhập khẩu qua cảng Hải Phòng",
        "giải ngân vốn đầu tư công",
        "phát triển khu công nghiệp",
        "chỉ số năng lực cạnh tranh cấp tỉnh",
        "hỗ trợ doanh nghiệp nhỏ và vừa",
        "phát triển dịch vụ logistics",
        "chương trình mỗi xã một sản phẩm",
    ),
    "van-hoa-xa-hoi": (
        "kỳ thi tuyển sinh vào lớp 10",
        "bảo tồn di tích lịch sử văn hóa",
        "chăm sóc sức khỏe ban đầu cho nhân dân",
        "hỗ trợ hộ nghèo, hộ cận nghèo",
        "phong trào toàn dân đoàn kết xây dựng đời sống văn hóa",
        "Tháng hành động vì trẻ em",
        "giải việt dã truyền thống",
        "chương trình sữa học đường",
        "công tác đền ơn đáp nghĩa",
    ),
    "quoc-phong-an-ninh": (
        "diễn tập khu vực phòng thủ",
        "công tác tuyển chọn và gọi công dân nhập ngũ",
        "phòng cháy, chữa cháy và cứu nạn, cứu hộ",
        "bảo đảm trật tự an toàn giao thông",
        "đấu tranh phòng, chống tội phạm ma túy",
        "tuần tra, kiểm soát trên biển",
        "xây dựng lực lượng dân quân tự vệ",
        "bảo vệ chủ quyền biên giới biển",
    ),
    "chinh-quyen": (
        "cải cách hành chính",
        "chuyển đổi số",
        "kỳ họp thường lệ HĐND thành phố",
        "tiếp công dân định kỳ",
        "sắp xếp đơn vị hành chính cấp xã",
        "giải quyết thủ tục hành chính trực tuyến",
        "nâng cao chỉ số hài lòng của người dân",
        "thực hành tiết kiệm, chống lãng phí",
    ),
    "tai-lieu": (
        "văn bản hướng dẫn thi hành luật",
        "tài liệu tuyên truyền về chuyển đổi số",
        "đề cương giới thiệu nghị quyết của Thành ủy",
        "bộ tài liệu hỏi đáp về cải cách hành chính",
        "hồ sơ lưu trữ lịch sử Đảng bộ thành phố",
    ),
    "thong-bao": (
        "tuyển dụng viên chức",
        "lấy ý kiến dự thảo quy hoạch chung",
        "lịch tiếp công dân",
        "kết quả lựa chọn nhà thầu",
        "điều chỉnh phân luồng giao thông",
        "đấu giá quyền sử dụng đất",
        "kế hoạch kiểm tra an toàn thực phẩm",
    ),
    "xay-dung-dang": (
        "học tập, quán triệt Nghị quyết của Đảng",
        "công tác kiểm tra, giám sát",
        "kết nạp đảng viên mới",
        "công tác cán bộ",
        "trao Huy hiệu Đảng",
        "xây dựng, chỉnh đốn Đảng",
        "công tác dân vận",
        "học tập và làm theo tư tưởng Hồ Chí Minh",
    ),
    "lich-cong-tac": (
        "họp giao ban công tác tuần",
        "tiếp công dân định kỳ",
        "làm việc với các sở, ngành",
        "dự lễ khởi công công trình trọng điểm",
        "kiểm tra tiến độ dự án đầu tư công",
    ),
}

PLACES = (
    "trên địa bàn thành phố",
    "tại quận Ngô Quyền",
    "tại huyện Thủy Nguyên",
    "tại quận Lê Chân",
    "tại huyện Cát Hải",
    "tại quận Hải An",
    "tại huyện Vĩnh Bảo",
    "ở các xã, phường, thị trấn",
    "tại Trung tâm Hội nghị thành phố",
    "tại Nhà hát thành phố",
)

GOALS = (
    "góp phần hoàn thành thắng lợi các mục tiêu phát triển kinh tế - xã hội",
    "nhằm nâng cao chất lượng đời sống vật chất và tinh thần của nhân dân",
    "tạo chuyển biến rõ rệt trong nhận thức và hành động của cán bộ, đảng viên",
    "bảo đảm tiến độ và chất lượng theo kế hoạch đề ra",
    "xây dựng thành phố Hải Phòng phát triển nhanh và bền vững",
    "giữ vững ổn định chính trị, trật tự an toàn xã hội",
    "tạo môi trường thuận lợi cho người dân và doanh nghiệp",
)

METRICS = (
    ("thu ngân sách nhà nước", "tỷ đồng"),
    ("vốn đầu tư thực hiện", "tỷ đồng"),
    ("kim ngạch xuất khẩu", "triệu USD"),
    ("sản lượng hàng hóa thông qua cảng", "triệu tấn"),
    ("số hồ sơ giải quyết trực tuyến", "hồ sơ"),
    ("số lượt khách du lịch", "lượt khách"),
)

FAMILY = ("Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Vũ", "Đặng", "Bùi", "Đỗ", "Ngô", "Đào", "Lương")
MIDDLE = ("Văn", "Thị", "Đức", "Minh", "Thu", "Hồng", "Quang", "Thanh", "Ngọc", "Khánh")
GIVEN = (
    "Hà",
    "Hùng",
    "Lan",
    "Tuấn",
    "Dũng",
    "Thảo",
    "Hương",
    "Long",
    "Nam",
    "Trang",
    "Hải",
    "Yến",
    "Cường",
    "Phương",
    "Tâm",
    "Hưng",
)
POSITIONS = (
    "Phó Chủ tịch UBND thành phố",
    "Ủy viên Ban Thường vụ Thành ủy",
    "Giám đốc Sở Y tế",
    "Chủ tịch UBND quận Lê Chân",
    "Bí thư Quận ủy Hải An",
    "Phó Chủ tịch HĐND thành phố",
    "Giám đốc Sở Kế hoạch và Đầu tư",
    "Trưởng Ban Dân vận Thành ủy",
)
PEN_NAMES = (
    "Minh Thu",
    "Hoàng Dũng",
    "Thanh Tâm",
    "Quang Hưng",
    "Phương Linh",
    "Đức Anh",
    "Thu Hằng",
    "Ngọc Ánh",
    "Hải Yến",
    "Mai Hương",
    "Trung Kiên",
    "Bảo Ngọc",
)
INITIALS = ("V.H.N", "T.L", "N.H", "P.T.T", "Đ.M", "H.Y")
PERIODS = ("quý I", "6 tháng đầu năm", "9 tháng", "cả năm", "2 tháng đầu năm", "quý III")
DAYPARTS = ("Sáng", "Chiều", "Ngày", "Tối")


def slugify(text: str) -> str:
    """ASCII slug as WordPress makes it: strip diacritics, đ -> d, non-alnum runs -> '-'."""
    text = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).lower()
    return re.sub(r"[^a-z0-9]+", "-", text).strip("-")


def capitalize(text: str) -> str:
    return text[:1].upper() + text[1:]


def vn_number(value: int) -> str:
    """1234567 -> '1.234.567' (Vietnamese thousands separator)."""
    return f"{value:,}".replace(",", ".")


def vn_decimal(value: float) -> str:
    return f"{value:.1f}".replace(".", ",")


class TextGen:
    """Draws Vietnamese news copy from a seeded random generator."""

    def __init__(self, rng: random.Random):
        self.rng = rng

    def person(self) -> str:
        r = self.rng
        return f"{r.choice(FAMILY)} {r.choice(MIDDLE)} {r.choice(GIVEN)}"

    def author(self) -> str:
        """A byline: mostly pen names, sometimes a full name."""
        return self.person() if self.rng.random() < 0.3 else self.rng.choice(PEN_NAMES)

    def initials(self) -> str:
        return self.rng.choice(INITIALS)

    def title(self, section: str, year: int) -> str:
        r = self.rng
        topic = r.choice(TOPICS[section])
        agency = r.choice(AGENCIES)
        form = r.randrange(5)
        if form == 0:
            return f"{agency} {r.choice(ACTIONS)} {topic} năm {year}"
        if form == 1:
            return f"{agency}: {capitalize(r.choice(ACTIONS))} {topic} {r.choice(PERIODS)}"
        if form == 2:
            return f"Hải Phòng: {capitalize(r.choice(ACTIONS))} {topic} {r.choice(PLACES)}"
        if form == 3:
            return self.digit_title(section, year)
        return f"{agency} {r.choice(ACTIONS)} {topic}, {r.choice(GOALS)}"

    def digit_title(self, section: str, year: int) -> str:
        """A headline that starts with a number, hence a slug starting with a digit."""
        r = self.rng
        topic = r.choice(TOPICS[section])
        return r.choice(
            (
                f"{r.randint(3, 9)} nhiệm vụ trọng tâm về {topic} năm {year}",
                f"100% xã, phường hoàn thành {topic}",
                f"{r.randint(12, 95)} tập thể, cá nhân được khen thưởng về {topic}",
                f"{year}: {capitalize(topic)} {r.choice(PLACES)} có nhiều chuyển biến",
            )
        )

    def long_title(self, section: str) -> str:
        """A headline long enough for its slug to pass 160 characters."""
        r = self.rng
        parts = [f"{r.choice(AGENCIES)} {r.choice(ACTIONS)} {r.choice(TOPICS[section])}"]
        while len(slugify(", ".join(parts))) <= 170:
            parts.append(f"{r.choice(ACTIONS)} {r.choice(TOPICS[section])} {r.choice(PLACES)}")
        return ", ".join(parts) + f", {r.choice(GOALS)}"

    def sapo(self, section: str, when: datetime) -> str:
        r = self.rng
        day = f"{r.choice(DAYPARTS)} {when.day}/{when.month}"
        first = (
            f"{day}, {r.choice(AGENCIES)} {r.choice(ACTIONS)} {r.choice(TOPICS[section])} "
            f"{r.choice(PLACES)}."
        )
        if r.random() < 0.6:
            first += (
                f" Đồng chí {self.person()}, {r.choice(POSITIONS)} dự và chỉ đạo "
                f"{r.choice(('Hội nghị', 'buổi làm việc', 'chương trình'))}."
            )
        return first

    def sentence(self, section: str) -> str:
        r = self.rng
        topic = r.choice(TOPICS[section])
        form = r.randrange(6)
        if form == 0:
            metric, unit = r.choice(METRICS)
            agency, period = r.choice(AGENCIES), r.choice(PERIODS)
            value, share = vn_number(r.randint(120, 98000)), vn_decimal(r.uniform(15, 99))
            growth = vn_decimal(r.uniform(1, 30))
            return (
                f"Theo báo cáo của {agency}, {period}, {metric} ước đạt {value} {unit}, "
                f"bằng {share}% kế hoạch, tăng {growth}% so với cùng kỳ năm trước."
            )
        if form == 1:
            agency, action = r.choice(AGENCIES), r.choice(ACTIONS)
            second = f"{r.choice(ACTIONS)} {r.choice(TOPICS[section])}"
            return (
                f"Trong thời gian tới, {agency} đề nghị các cơ quan, đơn vị tiếp tục "
                f"{action} {topic}; {second}, {r.choice(GOALS)}."
            )
        if form == 2:
            return (
                f"Phát biểu tại buổi làm việc, đồng chí {self.person()}, {r.choice(POSITIONS)} "
                f"đánh giá cao kết quả {topic} {r.choice(PLACES)}, đồng thời yêu cầu "
                f"{r.choice(AGENCIES)} {r.choice(ACTIONS)} {r.choice(TOPICS[section])}."
            )
        if form == 3:
            return (
                f"Đến nay, {r.randint(3, 217)} cơ quan, đơn vị đã {r.choice(ACTIONS)} {topic}, "
                f"{r.choice(GOALS)}."
            )
        if form == 4:
            return f"{capitalize(topic)} được quan tâm chỉ đạo thường xuyên, {r.choice(GOALS)}."
        return (
            f"Công tác {topic} {r.choice(PLACES)} có chuyển biến tích cực; nhiều mô hình, "
            f"cách làm hay được nhân rộng, {r.choice(GOALS)}."
        )

    def paragraph(self, section: str) -> str:
        return " ".join(self.sentence(section) for _ in range(self.rng.randint(2, 5)))

    def paragraphs(self, section: str) -> list[str]:
        return [self.paragraph(section) for _ in range(self.rng.randint(2, 8))]

    def caption(self, section: str) -> str:
        r = self.rng
        return r.choice(
            (
                f"Đồng chí {self.person()}, {r.choice(POSITIONS)} phát biểu tại Hội nghị.",
                f"Quang cảnh {r.choice(TOPICS[section])} {r.choice(PLACES)}.",
                f"Các đại biểu tham quan mô hình {r.choice(TOPICS[section])}.",
            )
        )
