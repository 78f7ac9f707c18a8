"""What synthetic Cao Bằng looks like: names, hamlets, the mix of venue types,
their daily rhythm, how people check in there.

Nothing here touches the database. The numbers are judgement, not
measurements: they only need to make dashboards, tracing and benchmarks
behave as they would with a rural district's real data (a few busy markets
and offices, thousands of quiet shops, scans that follow the working day).
"""

from __future__ import annotations

from truyvet.checkins.models import CheckInMethod as M
from truyvet.venues.models import VenueType as T

# --- People -----------------------------------------------------------------

# Cao Bằng is mostly Tày and Nùng: Nông, Hoàng, Bế, Đàm, Lục, Triệu are common
# there, Nguyễn less so than in the lowlands. (surname, weight)
SURNAMES: tuple[tuple[str, int], ...] = (
    ("Hoàng", 12), ("Nông", 11), ("Nguyễn", 9), ("Lương", 6), ("Bế", 6), ("Triệu", 6),
    ("Đàm", 5), ("Lục", 4), ("Hà", 4), ("Lý", 4), ("Ma", 3), ("Trần", 3), ("Vi", 2),
    ("La", 2), ("Lăng", 2), ("Mông", 2), ("Chu", 2), ("Dương", 2), ("Đinh", 2), ("Lê", 2),
    ("Sầm", 1), ("Phùng", 1), ("Hứa", 1), ("Lưu", 1), ("Đoàn", 1), ("Phạm", 1), ("Vũ", 1),
)
MIDDLE_MALE: tuple[tuple[str, int], ...] = (
    ("Văn", 60), ("Đức", 8), ("Minh", 6), ("Quang", 5), ("Thanh", 5), ("Xuân", 4),
    ("Hữu", 4), ("Ngọc", 3), ("Tiến", 3), ("Công", 2),
)
MIDDLE_FEMALE: tuple[tuple[str, int], ...] = (
    ("Thị", 65), ("Thu", 6), ("Ngọc", 5), ("Hồng", 5), ("Thanh", 5), ("Minh", 4),
    ("Phương", 3), ("Kim", 3), ("Bích", 2), ("Diệu", 2),
)
GIVEN_MALE: tuple[str, ...] = (
    "Hùng", "Dũng", "Tuấn", "Minh", "Sơn", "Hải", "Cường", "Đức", "Thắng", "Long", "Quân",
    "Bình", "Tùng", "Phong", "Khánh", "Nam", "Trung", "Hiếu", "Thành", "Hoàng", "Huy",
    "Vinh", "Quý", "Toàn", "Lâm", "Tâm", "Chiến", "Lợi", "Phúc", "Kiên", "Duy", "Hưng",
)
GIVEN_FEMALE: tuple[str, ...] = (
    "Lan", "Hoa", "Mai", "Hương", "Hằng", "Nhung", "Linh", "Thảo", "Trang", "Huyền",
    "Ngọc", "Phương", "Yến", "Hà", "Thu", "Vân", "Hạnh", "Nga", "Loan", "Liên", "Thúy",
    "Quyên", "Dung", "Duyên", "Hiền", "Ly", "Nhàn", "Oanh", "Tuyết", "Xuân",
)
# Shop signs use a two-syllable given name ("Tạp hoá Hồng Nhung") or a
# form of address and one syllable ("Quán phở Cô Lan").
SIGN_FIRST_FEMALE: tuple[str, ...] = (
    "Hồng", "Thu", "Minh", "Ngọc", "Thanh", "Phương", "Kim", "Bích", "Diệu", "Mai",
)
SIGN_FIRST_MALE: tuple[str, ...] = ("Minh", "Quang", "Đức", "Thanh", "Xuân", "Hữu", "Tiến")
ADDRESS_FEMALE: tuple[str, ...] = ("Cô", "Chị", "Bà", "Bác")
ADDRESS_MALE: tuple[str, ...] = ("Chú", "Anh", "Ông", "Bác")

# Vietnamese mobile prefixes (after the leading 0), weighted towards Viettel,
# which covered the mountains first.
MOBILE_PREFIXES: tuple[tuple[str, int], ...] = (
    ("86", 6), ("96", 8), ("97", 8), ("98", 8), ("32", 4), ("33", 4), ("34", 4), ("35", 4),
    ("36", 4), ("37", 4), ("38", 4), ("39", 4),
    ("88", 3), ("91", 4), ("94", 4), ("81", 2), ("82", 2), ("83", 2), ("84", 2), ("85", 2),
    ("90", 4), ("93", 3), ("70", 2), ("76", 1), ("77", 1), ("78", 1), ("79", 1),
    ("92", 1), ("56", 1), ("58", 1),
)

# --- Places -----------------------------------------------------------------

# Hamlet names in the Tày-Nùng style of Cao Bằng ("Nà Lẹng", "Khuổi Khon").
HAMLET_FIRST: tuple[str, ...] = (
    "Nà", "Bản", "Khuổi", "Pác", "Lũng", "Phiêng", "Cốc", "Nặm", "Pò", "Keng", "Bó",
    "Khau", "Slam", "Đông", "Lạn", "Bằng", "Thôm", "Vằng",
)
HAMLET_SECOND: tuple[str, ...] = (
    "Lẹng", "Khun", "Thuôn", "Mạ", "Pục", "Chang", "Rằng", "Slưa", "Vài", "Khòn", "Sác",
    "Mòn", "Tày", "Pha", "Luông", "Cáp", "Riềng", "Muổng", "Đoỏng", "Giằng", "Lìn",
    "Cọn", "Nhùng", "Khoang", "Rạo", "Bó", "Thin", "Lạn", "Nưa", "Nặm",
)

# Share of venues of each type in a rural district. (type, weight)
TYPE_MIX: tuple[tuple[str, float], ...] = (
    (T.SHOP, 38.0), (T.RESTAURANT, 13.0), (T.GOVERNMENT, 13.0), (T.SCHOOL, 9.0),
    (T.BUSINESS, 7.0), (T.OTHER, 7.0), (T.HEALTH, 3.5), (T.MARKET, 2.5), (T.RELIGIOUS, 2.5),
    (T.LODGING, 2.0), (T.CHECKPOINT, 2.0), (T.TRANSPORT, 1.5),
)

# How likely a venue of the type is to scan at all (officials enforced it at
# markets, clinics and checkpoints far more than at corner shops), and how
# many visitors it draws once it does. (activity, popularity)
TYPE_ACTIVITY: dict[str, tuple[float, float]] = {
    T.MARKET: (5.0, 4.0), T.CHECKPOINT: (5.0, 3.0), T.HEALTH: (4.0, 3.0),
    T.TRANSPORT: (3.0, 3.0), T.GOVERNMENT: (2.5, 2.0), T.SCHOOL: (2.0, 2.0),
    T.BUSINESS: (1.5, 1.5), T.LODGING: (1.0, 0.8), T.RESTAURANT: (0.8, 1.2),
    T.SHOP: (0.6, 1.0), T.RELIGIOUS: (0.5, 0.8), T.OTHER: (0.5, 1.0),
    T.VACCINATION: (4.0, 3.0), T.TESTING: (4.0, 3.0),
}

# Venue names. Placeholders: {sign} a name on a shop sign ("Hồng Nhung"),
# {called} a form of address and a name ("Cô Lan"), {hamlet}, {commune} (the
# commune's name without its kind), {commune_full} ("xã Thắng Lợi"),
# {district} (the district's name without its kind), {n} a small number.
NAME_TEMPLATES: dict[str, tuple[tuple[str, int], ...]] = {
    T.SHOP: (
        ("Tạp hoá {sign}", 30), ("Cửa hàng tạp hoá {sign}", 10), ("Tạp hoá {called}", 8),
        ("Cửa hàng điện thoại {sign}", 4), ("Hiệu thuốc {sign}", 4), ("Quầy thuốc {sign}", 4),
        ("Cửa hàng vật liệu xây dựng {sign}", 4), ("Đại lý gas {sign}", 3),
        ("Cửa hàng nông sản {sign}", 3), ("Cửa hàng điện máy {sign}", 3),
        ("Cửa hàng quần áo {sign}", 3), ("Đại lý thức ăn chăn nuôi {sign}", 3),
        ("Tiệm may {called}", 2), ("Cửa hàng vàng bạc {sign}", 1),
        ("Đại lý phân bón {sign}", 3), ("Cửa hàng xe máy {sign}", 1),
    ),
    T.RESTAURANT: (
        ("Quán phở {called}", 8), ("Quán bún {called}", 5), ("Quán cơm {sign}", 6),
        ("Quán ăn {sign}", 5), ("Quán cà phê {sign}", 5), ("Quán nước {called}", 4),
        ("Quán bánh cuốn {called}", 4), ("Quán vịt quay {sign}", 3),
        ("Quán phở chua {called}", 2), ("Quán bánh áp chao {called}", 2),
        ("Nhà hàng {sign}", 2), ("Quán lẩu {sign}", 2),
    ),
    T.GOVERNMENT: (
        ("Nhà văn hoá xóm {hamlet}", 10), ("Hội trường xóm {hamlet}", 3),
        ("Điểm bưu điện văn hoá {hamlet}", 1),
    ),
    T.SCHOOL: (("Điểm trường {hamlet}", 6), ("Điểm trường Mầm non {hamlet}", 4)),
    T.HEALTH: (
        ("Phòng khám tư nhân bác sĩ {sign}", 3), ("Nhà thuốc {sign}", 3),
        ("Phòng khám răng {sign}", 1),
    ),
    T.MARKET: (("Chợ {hamlet}", 3), ("Chợ phiên {hamlet}", 2)),
    T.LODGING: (("Nhà nghỉ {sign}", 5), ("Homestay {hamlet}", 2), ("Nhà nghỉ {hamlet}", 2)),
    T.TRANSPORT: (
        ("Nhà xe {sign}", 3), ("Điểm đón trả khách {hamlet}", 3), ("Trạm dừng nghỉ {hamlet}", 1),
    ),
    T.BUSINESS: (
        ("Xưởng mộc {sign}", 4), ("Hợp tác xã nông nghiệp {hamlet}", 3),
        ("Xưởng chế biến miến dong {hamlet}", 2), ("Trạm thu mua nông sản {hamlet}", 2),
        ("Doanh nghiệp tư nhân {sign}", 3), ("Lò gạch {hamlet}", 1),
        ("Cây xăng {commune}", 1), ("Xưởng sửa chữa ô tô {sign}", 1),
    ),
    T.RELIGIOUS: (("Chùa {hamlet}", 3), ("Đền {hamlet}", 3), ("Miếu xóm {hamlet}", 2)),
    T.CHECKPOINT: (
        ("Chốt kiểm dịch xóm {hamlet}", 4), ("Chốt kiểm soát dịch COVID-19 {commune_full}", 2),
        ("Chốt kiểm dịch liên ngành km {n}", 2),
    ),
    T.OTHER: (
        ("Tiệm sửa xe máy {sign}", 4), ("Tiệm cắt tóc {called}", 3), ("Sân bóng {hamlet}", 2),
        ("Tiệm internet {sign}", 1), ("Tiệm rửa xe {sign}", 2), ("Sân cầu lông {commune}", 1),
        ("Tiệm ảnh {sign}", 1),
    ),
    # Vaccination sites are registered by health officials, not drawn by
    # the type mix; names for any that synth should make all the same.
    T.VACCINATION: (
        ("Điểm tiêm chủng Trạm Y tế {commune_full}", 3), ("Điểm tiêm lưu động xóm {hamlet}", 1),
    ),
    # Testing sites (issue 16), likewise registered by health officials.
    T.TESTING: (
        ("Điểm xét nghiệm Trạm Y tế {commune_full}", 3), ("Điểm lấy mẫu lưu động xóm {hamlet}", 1),
    ),
}

# The institutions every commune has, named after it. A commune's first
# venues of a type take these names before the generic ones above.
COMMUNE_INSTITUTIONS: dict[str, tuple[str, ...]] = {
    T.GOVERNMENT: (
        "UBND {commune_full}", "Công an {commune_full}", "Bưu điện văn hoá {commune_full}",
        "Ban Chỉ huy Quân sự {commune_full}",
    ),
    T.SCHOOL: (
        "Trường Tiểu học {commune}", "Trường Mầm non {commune}", "Trường THCS {commune}",
        "Trường PTDT Bán trú THCS {commune}",
    ),
    T.HEALTH: ("Trạm Y tế {commune_full}",),
    T.MARKET: ("Chợ {commune}",),
}
# ... and those of the district, placed in its first township (or first commune).
DISTRICT_INSTITUTIONS: dict[str, tuple[str, ...]] = {
    T.GOVERNMENT: (
        "UBND huyện {district}", "Công an huyện {district}", "Kho bạc Nhà nước {district}",
        "Trung tâm Văn hoá - Thể thao huyện {district}", "Chi cục Thuế huyện {district}",
        "Phòng Giáo dục và Đào tạo huyện {district}",
    ),
    T.SCHOOL: ("Trường THPT {district}", "Trường PTDT Nội trú THCS huyện {district}"),
    T.HEALTH: ("Trung tâm Y tế huyện {district}",),
    T.MARKET: ("Chợ trung tâm huyện {district}",),
    T.TRANSPORT: ("Bến xe khách huyện {district}",),
    T.BUSINESS: ("Ngân hàng Agribank chi nhánh huyện {district}",),
}

# --- Check-ins --------------------------------------------------------------

# Arrivals per local hour (0-23): markets at dawn, schools and offices at the
# start of the morning and afternoon sessions, restaurants at meal times,
# lodging in the evening, hardly anything at night.
HOURLY: dict[str, tuple[float, ...]] = {
    T.SHOP: (0.1, 0.05, 0.05, 0.05, 0.2, 1, 3, 5, 5, 4, 3.5, 3, 2.5, 2.5, 3, 3.5, 4, 5, 5.5,
             4.5, 3, 1.5, 0.6, 0.2),
    T.MARKET: (0, 0, 0, 0.2, 1, 5, 8, 9, 8, 6, 4, 2.5, 1.5, 1, 1, 1, 1.5, 1.5, 1, 0.5, 0.2,
               0.05, 0, 0),
    T.RESTAURANT: (0.1, 0.05, 0, 0, 0.1, 1.5, 5, 6, 3, 1.5, 2.5, 5, 4, 1.5, 1, 1, 1.5, 4, 5,
                   4, 2.5, 1.5, 0.5, 0.2),
    T.SCHOOL: (0, 0, 0, 0, 0, 0.5, 8, 6, 1, 0.5, 0.5, 1, 1, 5, 1, 1, 1, 0.5, 0.2, 0.05, 0,
               0, 0, 0),
    T.GOVERNMENT: (0, 0, 0, 0, 0, 0.05, 0.5, 6, 5, 4, 3, 1.5, 0.5, 4, 3.5, 3, 2, 0.5, 0.2,
                   0.05, 0, 0, 0, 0),
    T.HEALTH: (0.3, 0.2, 0.2, 0.2, 0.3, 1, 4, 7, 6, 5, 4, 2, 1, 3, 3, 2.5, 2, 1.5, 1, 0.8,
               0.6, 0.5, 0.4, 0.3),
    T.LODGING: (0.5, 0.3, 0.2, 0.1, 0.1, 0.2, 0.5, 0.8, 1, 1, 1.5, 2, 2, 2, 2.5, 3, 4, 5, 6,
                6, 5, 3.5, 2, 1),
    T.TRANSPORT: (0.1, 0.1, 0.1, 0.3, 2, 6, 7, 5, 3, 2, 2, 2, 2, 3, 4, 4, 3.5, 2, 1, 0.5,
                  0.3, 0.1, 0.1, 0.1),
    T.BUSINESS: (0, 0, 0, 0, 0, 0.5, 4, 8, 1, 0.5, 0.5, 0.5, 1, 5, 0.5, 0.5, 0.5, 1, 0.5,
                 0.2, 0.1, 0, 0, 0),
    T.RELIGIOUS: (0, 0, 0, 0, 0.2, 2, 4, 4, 3, 2, 1, 0.5, 0.5, 0.5, 0.5, 1, 2, 3, 2, 1, 0.5,
                  0.1, 0, 0),
    T.CHECKPOINT: (0.8, 0.6, 0.5, 0.5, 0.8, 1.5, 3, 4, 4, 3.5, 3, 3, 2.5, 2.5, 3, 3.5, 4, 4,
                   3, 2.5, 2, 1.5, 1.2, 1),
    T.OTHER: (0, 0, 0, 0, 0.1, 1, 2, 2, 2, 2, 2, 2, 1.5, 1.5, 2, 2.5, 4, 5.5, 5.5, 4, 2.5, 1,
              0.3, 0.1),
    # Vaccination sessions (issue 15): mornings and early afternoons.
    T.VACCINATION: (0, 0, 0, 0, 0, 0.2, 3, 8, 8, 6, 4, 1, 0.5, 5, 5, 3, 1, 0.2, 0, 0, 0, 0,
                    0, 0),
    T.TESTING: (0, 0, 0, 0, 0, 0.5, 4, 8, 8, 6, 4, 2, 1, 4, 5, 4, 3, 1, 0.2, 0, 0, 0, 0, 0),
}

# Relative visits by weekday, Monday first: offices and schools close at the
# weekend (Saturday mornings partly open), temples fill up.
WEEKLY: dict[str, tuple[float, ...]] = {
    T.GOVERNMENT: (1, 1, 1, 1, 1, 0.25, 0.1),
    T.SCHOOL: (1, 1, 1, 1, 1, 0.5, 0.05),
    T.BUSINESS: (1, 1, 1, 1, 1, 0.8, 0.3),
    T.RELIGIOUS: (0.8, 0.8, 0.8, 0.8, 0.8, 1.1, 1.5),
    T.RESTAURANT: (1, 1, 1, 1, 1, 1.15, 1.2),
    T.SHOP: (1, 1, 1, 1, 1, 1.1, 1.1),
    T.OTHER: (1, 1, 1, 1, 1, 1.2, 1.3),
}
WEEKLY_DEFAULT: tuple[float, ...] = (1, 1, 1, 1, 1, 1, 1)

# How people get recorded, per venue type. Offices, clinics and checkpoints
# had controllers at the door scanning cards; shops had a poster on the wall.
_POSTER = ((M.CITIZEN_SCAN, 76), (M.GUEST_FORM, 9), (M.PERSONAL_QR, 5), (M.CCCD_QR, 4),
           (M.NATIONAL_QR, 3), (M.MANUAL, 3))
_DOOR = ((M.CITIZEN_SCAN, 35), (M.GUEST_FORM, 5), (M.PERSONAL_QR, 15), (M.CCCD_QR, 20),
         (M.NATIONAL_QR, 15), (M.MANUAL, 10))
METHODS: dict[str, tuple[tuple[str, int], ...]] = {
    T.GOVERNMENT: _DOOR, T.HEALTH: _DOOR, T.SCHOOL: _DOOR, T.BUSINESS: _DOOR,
    T.VACCINATION: _DOOR, T.TESTING: _DOOR,
    T.CHECKPOINT: ((M.CITIZEN_SCAN, 10), (M.PERSONAL_QR, 20), (M.CCCD_QR, 30),
                   (M.NATIONAL_QR, 30), (M.MANUAL, 10)),
    T.TRANSPORT: ((M.CITIZEN_SCAN, 55), (M.GUEST_FORM, 10), (M.PERSONAL_QR, 10),
                  (M.CCCD_QR, 10), (M.NATIONAL_QR, 10), (M.MANUAL, 5)),
}
METHODS_DEFAULT = _POSTER

# Of the visits, how many end with the citizen tapping "leaving" (poster
# methods) or a controller's exit scan (card methods); the rest end at the
# venue's default dwell time.
CITIZEN_CHECKOUT_SHARE = 0.12
EXIT_SCAN_SHARE = 0.25
# Scans that reach the server a few seconds after they happened; the rest sat
# in an offline queue for minutes to hours.
LATE_SYNC_SHARE = 0.03
