"""The demo hall's catalogue: real-sounding items across the usual fields of a city hall.

Material tuples: (name, form, count, required, deferrable). Forms: original / copy / original_and_copy.
"""
from __future__ import annotations

ID = ("居民身份证", "original", 1, True, False)
ID_COPY = ("居民身份证复印件", "copy", 1, True, True)
HUKOU = ("居民户口簿", "original", 1, True, False)
LICENSE = ("营业执照", "original_and_copy", 1, True, False)
APPLY = ("申请表（现场可领取）", "original", 1, True, False)

CATEGORIES = [
    ("SS", "商事登记"), ("BDC", "不动产登记"), ("SB", "社保医保"), ("HZ", "公安户政"),
    ("SW", "税务"), ("GJJ", "公积金"), ("ZH", "综合服务"),
]

# code, category, name, kind, promised_days, on_the_spot, typical minutes, materials, guide extras
ITEMS = [
    ("SS001", "SS", "企业设立登记", "immediate", None, False, 20,
     [ID, ("公司章程", "original", 1, True, False), ("住所使用证明", "copy", 1, True, True), APPLY],
     "《中华人民共和国市场主体登记管理条例》第十九条", "材料齐全、符合法定形式的当场登记"),
    ("SS002", "SS", "企业变更登记", "immediate", None, False, 15,
     [LICENSE, ("股东会决议", "original", 1, True, False), ("章程修正案", "original", 1, True, False), APPLY],
     "《中华人民共和国市场主体登记管理条例》第二十四条", "变更事项发生之日起30日内申请"),
    ("SS003", "SS", "企业注销登记", "promised", 3, False, 15,
     [LICENSE, ("清算报告", "original", 1, True, False), ("清税证明", "original", 1, True, True), APPLY],
     "《中华人民共和国市场主体登记管理条例》第三十一条", "已依法完成清算"),
    ("SS004", "SS", "个体工商户设立登记", "immediate", None, True, 10,
     [ID, ("经营场所使用证明", "copy", 1, True, True)],
     "《促进个体工商户发展条例》", "有经营能力的自然人"),
    ("SS005", "SS", "食品经营许可", "promised", 10, False, 20,
     [LICENSE, ("食品安全管理制度", "original", 1, True, False), ("经营场所平面图", "original", 1, True, False)],
     "《中华人民共和国食品安全法》第三十五条", "具有与经营食品品种相适应的场所"),
    ("SS006", "SS", "公章刻制备案", "immediate", None, True, 8,
     [LICENSE, ID_COPY], "《印铸刻字业暂行管理规则》", "已取得营业执照"),
    ("BDC001", "BDC", "不动产转移登记（二手房买卖）", "promised", 5, False, 30,
     [ID, ("不动产权证书", "original", 1, True, False), ("房屋买卖合同", "original", 1, True, False),
      ("完税凭证", "original", 1, True, True), ("婚姻状况证明", "copy", 1, True, True)],
     "《不动产登记暂行条例》第十四条", "买卖双方共同申请"),
    ("BDC002", "BDC", "不动产抵押登记", "promised", 3, False, 20,
     [ID, ("不动产权证书", "original", 1, True, False), ("抵押合同", "original", 1, True, False),
      ("主债权合同", "original", 1, True, False)],
     "《不动产登记暂行条例》第十四条", "抵押人与抵押权人共同申请"),
    ("BDC003", "BDC", "不动产登记资料查询", "immediate", None, True, 5,
     [ID], "《不动产登记资料查询暂行办法》", "权利人或利害关系人"),
    ("BDC004", "BDC", "不动产首次登记", "promised", 10, False, 25,
     [ID, ("土地权属来源材料", "original", 1, True, False), ("房屋竣工验收材料", "copy", 1, True, False)],
     "《不动产登记暂行条例实施细则》", "新建房屋已竣工验收"),
    ("SB001", "SB", "城乡居民养老保险参保登记", "immediate", None, True, 6,
     [ID, HUKOU], "《中华人民共和国社会保险法》第二十条", "年满16周岁、非在校学生"),
    ("SB002", "SB", "社会保障卡申领", "immediate", None, True, 6,
     [ID, ("近期免冠照片", "original", 1, False, True)], "《社会保障卡管理办法》", "已参加社会保险"),
    ("SB003", "SB", "医保关系转移接续", "promised", 15, False, 12,
     [ID, ("参保缴费凭证", "original", 1, True, True)], "《流动就业人员基本医疗保障关系转移接续暂行办法》",
     "跨统筹地区流动就业"),
    ("SB004", "SB", "灵活就业人员参保登记", "immediate", None, True, 8,
     [ID], "《中华人民共和国社会保险法》第十条", "无雇工的个体工商户、灵活就业人员"),
    ("SB005", "SB", "生育保险待遇申领", "promised", 10, False, 12,
     [ID, ("出生医学证明", "copy", 1, True, False), ("结婚证", "copy", 1, True, True)],
     "《中华人民共和国社会保险法》第五十四条", "已参加生育保险"),
    ("SB006", "SB", "城乡居民医疗保险参保登记", "immediate", None, True, 6,
     [ID, HUKOU], "《中华人民共和国社会保险法》第二十五条", "未参加职工医保的城乡居民"),
    ("SB007", "SB", "单位社会保险登记", "immediate", None, False, 10,
     [LICENSE, ID_COPY], "《社会保险费征缴暂行条例》第七条", "用人单位成立之日起30日内"),
    ("HZ001", "HZ", "居民身份证换领", "promised", 20, False, 10,
     [ID, HUKOU], "《中华人民共和国居民身份证法》第八条", "有效期满或证件损坏"),
    ("HZ002", "HZ", "户口迁移（市内）", "promised", 5, False, 15,
     [HUKOU, ID, ("房屋产权证明", "copy", 1, True, False)], "《中华人民共和国户口登记条例》第十条",
     "在迁入地有合法稳定住所"),
    ("HZ003", "HZ", "出生登记", "immediate", None, False, 12,
     [("出生医学证明", "original", 1, True, False), HUKOU, ("父母居民身份证", "original", 2, True, False),
      ("结婚证", "original", 1, True, True)], "《中华人民共和国户口登记条例》第七条", "婴儿出生后一个月内"),
    ("HZ004", "HZ", "居住证申领", "promised", 15, False, 8,
     [ID, ("居住证明", "original", 1, True, True)], "《居住证暂行条例》第九条", "离开常住户口所在地居住半年以上"),
    ("SW001", "SW", "增值税发票领用", "immediate", None, True, 5,
     [LICENSE, ("税务UKey", "original", 1, True, False)], "《中华人民共和国发票管理办法》第十五条", "已办理税务登记"),
    ("SW002", "SW", "个人所得税汇算清缴", "immediate", None, False, 15,
     [ID, ("收入及扣除凭证", "copy", 1, False, True)], "《中华人民共和国个人所得税法》第十一条", "年度综合所得需补退税"),
    ("SW003", "SW", "税务登记信息变更", "immediate", None, True, 8,
     [LICENSE, ("变更登记表", "original", 1, True, False)], "《税务登记管理办法》第二十条", "登记内容发生变化"),
    ("SW004", "SW", "契税申报", "immediate", None, False, 15,
     [ID, ("房屋买卖合同", "original", 1, True, False), ("不动产权证书", "copy", 1, True, False)],
     "《中华人民共和国契税法》第九条", "承受土地、房屋权属"),
    ("GJJ001", "GJJ", "住房公积金提取（租房）", "immediate", None, True, 6,
     [ID, ("银行卡", "original", 1, True, False)], "《住房公积金管理条例》第二十四条", "本人及配偶在缴存地无自有住房"),
    ("GJJ002", "GJJ", "住房公积金个人住房贷款", "promised", 10, False, 25,
     [ID, ("购房合同", "original", 1, True, False), ("婚姻状况证明", "original", 1, True, True),
      ("收入证明", "original", 1, True, True)], "《住房公积金管理条例》第二十六条", "连续足额缴存6个月以上"),
    ("GJJ003", "GJJ", "公积金缴存基数调整", "immediate", None, True, 6,
     [LICENSE, ("工资发放明细", "copy", 1, True, False)], "《住房公积金管理条例》第十六条", "每年调整一次"),
    ("GJJ004", "GJJ", "单位住房公积金缴存登记", "immediate", None, False, 8,
     [LICENSE, ID_COPY], "《住房公积金管理条例》第十四条", "单位设立之日起30日内"),
    ("ZH001", "ZH", "办不成事反映", "immediate", None, False, 15,
     [], "《政务服务线下办事“只进一门”服务规范》7.3", "在大厅办事遇到困难、未能办成"),
    ("ZH002", "ZH", "办件结果领取", "immediate", None, False, 4,
     [ID, ("受理通知书", "original", 1, True, False)], "DB22/T 2871.2 §7.3 统一出件", "办件已办结"),
]

BUNDLES = [
    ("B01", "企业开办一件事", "营业执照、公章刻制、发票领用、社保登记、公积金缴存登记一次办",
     ["SS001", "SS006", "SW001", "SB007", "GJJ004"]),
    ("B02", "新生儿出生一件事", "出生登记、城乡居民医保参保、社会保障卡申领一次办",
     ["HZ003", "SB006", "SB002"]),
]

# prefix, name, item codes (None = every item except the fallback and handover desks'), daily cap
QUEUES = [
    ("A", "综合受理", None, None),
    ("B", "社保医保即办", ["SB001", "SB002", "SB004", "SB006", "GJJ001", "GJJ003"], None),
    ("C", "税务即办", ["SW001", "SW003", "SS004", "SS006"], None),
    ("D", "不动产查询即办", ["BDC003"], 200),
    ("E", "跨省通办", ["HZ001", "SB003", "GJJ001", "SB002"], None),
    ("F", "办不成事反映", ["ZH001"], None),
    ("G", "出件", ["ZH002"], None),
]

# number, name, kind, [(prefix, role)], A clerk, B clerk (usernames)
# Where the demo windows stand, and where the hall is (the slip and the phone page say so).
DEMO_AREAS = {**{n: "A区" for n in range(1, 7)}, **{n: "B区" for n in range(7, 11)}, 11: "C区", 12: "C区"}
DEMO_ADDRESS = "示例市人民大道88号 市民中心一楼"

WINDOWS = [
    (1, "综合受理1", "general", [("A", "primary")], "clerk01", "clerk02"),
    (2, "综合受理2", "general", [("A", "primary")], "clerk02", "clerk01"),
    (3, "综合受理3", "general", [("A", "primary")], "clerk03", "clerk04"),
    (4, "综合受理4", "general", [("A", "primary")], "clerk04", "clerk03"),
    (5, "综合受理5", "general", [("A", "primary"), ("E", "helper")], "clerk05", "clerk06"),
    (6, "综合受理6", "general", [("A", "primary"), ("B", "helper")], "clerk06", "clerk05"),
    (7, "社保医保即办", "on_the_spot", [("B", "primary"), ("A", "helper")], "clerk07", "clerk08"),
    (8, "税务即办", "on_the_spot", [("C", "primary"), ("A", "helper")], "clerk08", "clerk07"),
    (9, "不动产查询即办", "on_the_spot", [("D", "primary"), ("A", "helper")], "clerk09", "clerk10"),
    (10, "跨省通办", "cross_region", [("E", "primary")], "clerk10", "clerk09"),
    (11, "办不成事反映", "fallback", [("F", "primary")], "clerk11", "clerk12"),
    (12, "出件", "handover", [("G", "primary")], "clerk12", "clerk11"),
]

CLERKS = [
    ("clerk01", "王丽", "1001"), ("clerk02", "李强", "1002"), ("clerk03", "张敏", "1003"), ("clerk04", "刘洋", "1004"),
    ("clerk05", "陈静", "1005"), ("clerk06", "杨帆", "1006"), ("clerk07", "赵磊", "1007"), ("clerk08", "黄婷", "1008"),
    ("clerk09", "吴昊", "1009"), ("clerk10", "徐娜", "1010"), ("clerk11", "孙浩", "1011"), ("clerk12", "马骏", "1012"),
]

# English names for the kiosk's English mode; the rest fall back (visibly) to the Chinese name.
ENGLISH_NAMES = {
    "SS001": "Company registration", "SS002": "Company change registration", "SS003": "Company deregistration",
    "SS004": "Sole proprietor registration", "SS006": "Company seal filing",
    "BDC001": "Property transfer (resale home)", "BDC003": "Property records search",
    "SB001": "Residents' pension insurance enrolment", "SB002": "Social security card application",
    "SB006": "Residents' medical insurance enrolment", "HZ001": "ID card renewal", "HZ003": "Birth registration",
    "HZ004": "Residence permit", "SW001": "VAT invoice collection", "SW002": "Individual income tax annual filing",
    "GJJ001": "Housing fund withdrawal (renting)", "ZH001": "Report a service that failed",
    "ZH002": "Collect results", "B01": "Start a business", "B02": "A baby is born",
}
# 业务部门 (001 §6.3), one per field: code, name, category, staff (username, name, employee no).
DEPARTMENTS = [
    ("SCJG", "市场监督管理局", "SS", [("dept-ss", "郑洁", "2001")]),
    ("BDC", "不动产登记中心", "BDC", [("dept-bdc", "冯涛", "2002")]),
    ("RS", "人力资源和社会保障局", "SB", [("dept-sb", "何琳", "2003")]),
    ("GA", "公安局户政科", "HZ", [("dept-hz", "高远", "2004")]),
    ("SW", "税务局", "SW", [("dept-sw", "罗佳", "2005")]),
    ("GJJ", "住房公积金管理中心", "GJJ", [("dept-gjj", "梁晨", "2006")]),
    ("ZWB", "政务服务管理办公室", "ZH", [("dept-zh", "宋雨", "2007")]),
]
# A bundle's lead department (003 §5.2) and its blocking items (003 §8.3.3; the others go on, §8.3.4).
BUNDLE_LEADS = {"B01": "SCJG", "B02": "GA"}
BUNDLE_BLOCKING = {"B01": {"SS001"}, "B02": {"HZ003"}}
