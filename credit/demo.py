"""Demo data for `make run`: a few hundred subjects in the Yangtze delta and a story.

The story, dated back from today so that it is current whenever the demo is loaded:

* 金陵路桥 and three firms it controls or shares a legal representative with bid together
  for years; 南京市住建局 finds them colluding (围标串标) a year ago: serious records and a
  blacklist entry for construction in Jiangsu. One of them, 秦淮市政, wins its
  administrative review; the record is revoked and the listing lifted.
* 苏锡机电 forged a qualification certificate (弄虚作假): a serious record, national.
* A few firms perform badly (不良履约) or refuse to sign a contract (拒签合同); one repairs
  its credit (信用修复) after putting things right.
* An agency broke the agency rules (代理违规); an evaluation expert scored against the rules
  (评标违规).
* Firms that missed their annual report sit on the abnormal list (经营异常名录); one filed
  and was moved off.
* Good firms hold commendations (表彰) and quality awards.
"""

from __future__ import annotations

import random
from datetime import date, timedelta

from sqlalchemy.orm import Session

from credit import services
from credit.categories import earliest_repair
from credit.identifiers import make_resident_id, make_uscc
from trading import clock

CITIES = {
    "南京": ["320102", "320104", "320105", "320106", "320111", "320115"],
    "苏州": ["320505", "320506", "320507", "320508"],
    "无锡": ["320205", "320206", "320211", "320213"],
    "常州": ["320402", "320404", "320411"],
    "上海": ["310101", "310104", "310105", "310115"],
    "杭州": ["330102", "330105", "330106", "330110"],
}
WORDS = [
    "华建",
    "宏达",
    "恒信",
    "中盛",
    "东方",
    "长江",
    "金陵",
    "新城",
    "天宇",
    "远大",
    "永安",
    "泰和",
    "鼎鑫",
    "瑞丰",
    "博远",
    "国正",
    "汇通",
    "联创",
    "德润",
    "景明",
    "广厦",
    "润泽",
    "启航",
    "嘉禾",
    "盛世",
    "同济",
    "诚信",
    "安泰",
    "万通",
    "立达",
]
TRADES = [
    "建设工程有限公司",
    "路桥工程有限公司",
    "市政工程有限公司",
    "建筑安装有限公司",
    "机电设备有限公司",
    "园林绿化工程有限公司",
    "水利工程有限公司",
    "信息技术有限公司",
    "装饰工程有限公司",
    "环境工程有限公司",
]
TENDEREES = [
    "交通运输局",
    "水务局",
    "住房和城乡建设局",
    "教育局",
    "卫生健康委员会",
    "城市管理局",
    "公安局",
    "人民医院",
    "城市建设投资集团有限公司",
    "地铁集团有限公司",
]
SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余"
    "杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙"
    "史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
)
GIVEN = (
    "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英建华文辉志强国庆海燕晓东春梅"
    "红梅建国宏伟立新振华"
)

REGULATORS = {
    "南京": "南京市住房和城乡建设局",
    "苏州": "苏州市住房和城乡建设局",
    "无锡": "无锡市住房和城乡建设局",
    "常州": "常州市住房和城乡建设局",
    "上海": "上海市住房和城乡建设管理委员会",
    "杭州": "杭州市城乡建设委员会",
}


def _person_name(rng: random.Random) -> str:
    given = rng.choice(GIVEN) + (rng.choice(GIVEN) if rng.random() < 0.7 else "")
    return rng.choice(SURNAMES) + given


def load(session: Session, rng: random.Random) -> str:
    today = clock.today()

    def ago(days: int) -> date:
        return today - timedelta(days=days)

    def basis(authority: str, document_no: str, decided: date) -> dict:
        return {"authority": authority, "document_no": document_no, "decided_on": decided}

    counts = {"bidder": 0, "agency": 0, "tenderee": 0, "practitioner": 0}
    used_names: set[str] = set()

    def org(kind: str, name: str, region: str, department: str = "9", entity: str = "1"):
        counts[kind] += 1
        used_names.add(name)
        return services.create_subject(
            session,
            {
                "kind": kind,
                "name": name,
                "region": region,
                "uscc": make_uscc(rng, region, department, entity),
            },
        )

    def person(region: str):
        counts["practitioner"] += 1
        return services.create_subject(
            session,
            {
                "kind": "practitioner",
                "name": _person_name(rng),
                "id_number": make_resident_id(rng, region),
            },
        )

    def relate(subject, kind: str, other, **extra):
        services.add_relation(session, subject, {"kind": kind, "other": other.id, **extra})

    # Tenderees: public bodies (department 1 = 机构编制, kind 1 = 机关) and state companies.
    tenderees = []
    for city, regions in CITIES.items():
        for unit in TENDEREES[: 5 if city in ("上海", "杭州") else 6]:
            state_company = unit.endswith("公司")
            tenderees.append(
                org(
                    "tenderee",
                    f"{city}市{unit}",
                    regions[0][:4] + "00",
                    "9" if state_company else "1",
                    "1",
                )
            )

    # Agencies.
    agencies = []
    for i in range(20):
        city = list(CITIES)[i % len(CITIES)]
        agencies.append(
            org("agency", f"{city}{WORDS[i]}招标代理有限公司", rng.choice(CITIES[city]))
        )

    # Bidders.
    bidders = []
    ring_names = [
        "金陵路桥工程有限公司",
        "秦淮市政工程有限公司",
        "石城建设工程有限公司",
        "钟山建筑安装有限公司",
    ]
    ring = [org("bidder", f"南京{name}", "320102") for name in ring_names]
    bidders += ring
    while len(bidders) < 160:
        city = rng.choice(list(CITIES))
        name = f"{city}{rng.choice(WORDS)}{rng.choice(TRADES)}"
        if name in used_names:
            continue
        bidders.append(org("bidder", name, rng.choice(CITIES[city])))
    forger = org("bidder", "苏锡机电设备有限公司", "320205")
    bidders.append(forger)

    # Practitioners: project managers and engineers employed by bidders and agencies.
    people = []
    for i in range(125):
        employer = bidders[i % len(bidders)] if i < 100 else agencies[i % len(agencies)]
        someone = person(employer.region)
        people.append(someone)
        relate(someone, "employment", employer, start=ago(rng.randrange(400, 4000)))

    # The ring: a parent, a subsidiary, a shareholding and one legal representative.
    boss = people[0]
    relate(ring[1], "subsidiary", ring[0])
    relate(ring[0], "shareholder", ring[2], share="51")
    relate(boss, "legal_rep", ring[0])
    relate(boss, "legal_rep", ring[3])
    relate(people[1], "relative", boss)
    for a, b in zip(bidders[10:40:2], bidders[11:41:2], strict=True):
        relate(a, "shareholder", b, share=str(rng.choice([10, 20, 30, 35, 49])))

    records = listings = 0
    nanjing = REGULATORS["南京"]

    # 1. Collusion by the ring, a year ago.
    decided = ago(380)
    ring_records = []
    for i, firm in enumerate(ring):
        ring_records.append(
            services.add_record(
                session,
                firm,
                {
                    "polarity": "negative",
                    "category": "collusion",
                    "severity": "serious",
                    "description": "在南京地铁7号线配套道路工程投标中与其他投标人相互串通投标报价",
                    "basis": basis(nanjing, f"宁建罚〔{decided.year}〕{31 + i}号", decided),
                    "effective_from": decided,
                    "effective_to": decided + timedelta(days=3 * 365),
                },
            )
        )
        records += 1
    ring_listings = [
        services.list_subject(
            session,
            firm,
            {
                "list": "blacklist",
                "sectors": ["construction"],
                "regions": ["320000"],
                "start": decided,
                "end": decided + timedelta(days=3 * 365),
                "reason": "围标串标，情节严重",
                "basis": basis(
                    "江苏省住房和城乡建设厅", f"苏建信〔{decided.year}〕{12 + i}号", decided
                ),
            },
        )
        for i, firm in enumerate(ring)
    ]
    listings += len(ring_listings)
    # 秦淮市政 wins its administrative review: the record is revoked, the listing lifted.
    review = ago(200)
    court = basis("南京市人民政府", f"宁政复决字〔{review.year}〕88号", review)
    services.revoke_record(
        session, ring_records[1].id, {"basis": court, "reason": "行政复议决定撤销原处罚决定"}
    )
    services.lift_listing(
        session, ring_listings[1].id, {"basis": court, "reason": "原处罚决定被撤销"}
    )
    records += 1

    # 2. A forged qualification certificate: serious, national.
    forged = ago(150)
    services.add_record(
        session,
        forger,
        {
            "polarity": "negative",
            "category": "fraud",
            "severity": "serious",
            "description": "投标文件中提供伪造的建筑业企业资质证书",
            "basis": basis(REGULATORS["无锡"], f"锡建罚〔{forged.year}〕9号", forged),
            "effective_from": forged,
            "effective_to": forged + timedelta(days=730),
        },
    )
    services.list_subject(
        session,
        forger,
        {
            "list": "blacklist",
            "reason": "弄虚作假骗取中标",
            "basis": basis("国家发展和改革委员会", f"发改财金〔{forged.year}〕1021号", forged),
        },
    )
    records += 1
    listings += 1

    # 3. Poor performance, refusals to sign, one credit repair.
    others = bidders[40:]
    repaired = False
    for i, firm in enumerate(rng.sample(others, 18)):
        city = next(c for c, regions in CITIES.items() if firm.region in regions)
        start = ago(rng.randrange(20, 300))
        category, severity, days = rng.choice(
            [
                ("poor_performance", "general", 180),
                ("poor_performance", "minor", 80),
                ("contract_refusal", "general", 360),
                ("illegal_subcontracting", "general", 360),
                ("wage_arrears", "minor", 80),
                ("quality_safety", "serious", 730),
            ]
        )
        end = start + timedelta(days=days)
        record = services.add_record(
            session,
            firm,
            {
                "polarity": "negative",
                "category": category,
                "severity": severity,
                "description": {
                    "poor_performance": "合同履约评价不合格，工期严重滞后",
                    "contract_refusal": "中标后无正当理由拒不签订合同",
                    "illegal_subcontracting": "将承包工程违法分包给不具备资质的单位",
                    "wage_arrears": "拖欠农民工工资",
                    "quality_safety": "施工现场发生一般生产安全事故",
                }[category],
                "basis": basis(REGULATORS[city], f"信〔{start.year}〕{100 + i}号", start),
                "effective_from": start,
                "effective_to": end,
            },
        )
        records += 1
        # The first record past its minimum publicity period is repaired (信用修复).
        if (
            not repaired
            and severity != "minor"
            and earliest_repair(severity, start, start) <= ago(5)
        ):
            repaired = True
            services.revoke_record(
                session,
                record.id,
                {
                    "kind": "repair",
                    "reason": "已完成整改并作出信用承诺",
                    "basis": basis(REGULATORS[city], f"信修〔{today.year}〕{3}号", ago(5)),
                },
            )
            records += 1

    # 4. An agency broke the rules; an expert scored against them.
    agency = agencies[3]
    services.add_record(
        session,
        agency,
        {
            "polarity": "negative",
            "category": "agency_misconduct",
            "severity": "serious",
            "description": "泄露应当保密的与招标投标活动有关的情况和资料",
            "basis": basis(REGULATORS["上海"], f"沪建罚〔{ago(90).year}〕27号", ago(90)),
            "effective_from": ago(90),
            "effective_to": ago(90) + timedelta(days=400),
        },
    )
    expert = people[110]
    services.add_record(
        session,
        expert,
        {
            "polarity": "negative",
            "category": "evaluation_misconduct",
            "severity": "general",
            "description": "评标过程中未按照招标文件规定的评标标准和方法评标",
            "basis": basis(nanjing, f"宁建罚〔{ago(60).year}〕77号", ago(60)),
            "effective_from": ago(60),
            "effective_to": ago(60) + timedelta(days=180),
        },
    )
    records += 2

    # 5. The abnormal list: missed annual reports; one filed and was moved off.
    late = rng.sample(others, 6)
    for i, firm in enumerate(late):
        city = next(c for c, regions in CITIES.items() if firm.region in regions)
        start = ago(rng.randrange(60, 500))
        listing = services.list_subject(
            session,
            firm,
            {
                "list": "abnormal",
                "reason": "未按规定期限公示年度报告",
                "start": start,
                "basis": basis(
                    f"{city}市市场监督管理局", f"市监异〔{start.year}〕{200 + i}号", start
                ),
            },
        )
        listings += 1
        if i == 0:
            services.lift_listing(
                session,
                listing.id,
                {
                    "reason": "已补报并公示年度报告",
                    "basis": basis(
                        f"{city}市市场监督管理局", f"市监移〔{today.year}〕{5}号", ago(10)
                    ),
                },
            )

    # 6. Commendations and quality awards for good firms.
    for i, firm in enumerate(rng.sample(bidders[60:], 25)):
        start = ago(rng.randrange(10, 700))
        services.add_record(
            session,
            firm,
            {
                "polarity": "positive",
                "category": rng.choice(["commendation", "quality_award"]),
                "description": rng.choice(
                    ["获评省级优质工程“扬子杯”", "年度守信企业表彰", "安全文明标准化工地"]
                ),
                "basis": basis("江苏省建筑行业协会", f"苏建协〔{start.year}〕{40 + i}号", start),
                "effective_from": start,
                "effective_to": start + timedelta(days=730),
            },
        )
        records += 1

    total = sum(counts.values())
    return (
        f"{total} subjects ({counts['bidder']} bidders, {counts['agency']} agencies, "
        f"{counts['tenderee']} tenderees, {counts['practitioner']} practitioners), "
        f"{records} credit records, {listings} listings"
    )
