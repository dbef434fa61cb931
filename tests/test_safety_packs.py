"""The optional LDNOOBW lexicon pack (rules/safety/packs/ldnoobw/): it loads, it is attributed, it
stays silent on everyday text and it flags its own terms; the generator reproduces it (fast).

False positives are measured on more than 200 everyday Chinese sentences written for this test
(health, education, finance, transport, government, family life; many hold the harmless uses of the
terms the pack leaves out or allows, e.g. 乳腺检查, 性别比例, 成人教育, 月经周期, 教务处女老师,
我妈的生日) and on the demo sample: zero hits with both pack files. The unmodified upstream lists
hit 126 of the 255 sentences and 88 of the 390 demo records (性 75, 13. 16, 成人 16) when the
pack was made. Offensive words are not spelled out here: the flagged cases read their terms from
the pack files.
"""

from __future__ import annotations

import gzip
import importlib.util
import json
import shutil
from functools import cache
from pathlib import Path

import pyarrow.parquet as pq

from corpus_kit.stages.safety.lexicon import Lexicon, load_lexicon
from corpus_kit.stages.safety.matcher import Matcher
from corpus_kit.stages.safety.normalise import normalise

REPO = Path(__file__).resolve().parents[1]
PACK = REPO / "rules" / "safety" / "packs" / "ldnoobw"
SCRIPT = REPO / "scripts" / "make_ldnoobw_pack.py"
DEMO = REPO / "samples" / "demo"
UPSTREAM = "LDNOOBW/List-of-Dirty-Naughty-Obscene-and-Otherwise-Bad-Words"
#: An unpacked naughty-words 1.2.0 (``npm pack naughty-words@1.2.0`` and untar) or its .tgz.
#: The upstream npm tarball (CC BY 4.0, its LICENSE inside), shipped with the tests so that the
#: generator check runs everywhere; its sha256 is pinned in scripts/make_ldnoobw_pack.py.
PACKAGE = Path(__file__).parent / "data" / "naughty-words-1.2.0.tgz"


@cache
def pack(language: str) -> Lexicon:
    return load_lexicon(PACK / f"{language}.yaml")


@cache
def matcher() -> Matcher:
    return Matcher(pack("zh").terms + pack("en").terms)


@cache
def script():
    spec = importlib.util.spec_from_file_location("make_ldnoobw_pack", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def hits(texts: list[str]) -> list[int]:
    """The indices of the texts with a hit (never the matched text)."""
    return [index for index, text in enumerate(texts) if matcher().scan(text).hits]


# -- everyday Chinese text ---------------------------------------------------------------------------


def sentences(block: str) -> list[str]:
    return block.split()


# health and medicine
HEALTH = sentences(
    """
乳腺检查建议每年进行一次，四十岁以上女性应结合乳腺钼靶筛查。
乳腺增生是常见的良性疾病，多数患者无需手术治疗。
产后坚持母乳喂养六个月，有利于婴儿免疫系统发育。
母乳交替喂养时要注意奶瓶的清洁和消毒。
乳制品是钙的重要来源，成年人每天宜摄入三百克奶及奶制品。
豆乳和牛奶都可以作为早餐饮品。
月经周期一般为二十一到三十五天，经期超过七天应及时就医。
青春期女生要学会记录自己的月经周期。
本次人口普查显示，出生人口性别比例为一百一十一比一百。
性别比例失衡问题需要长期关注。
女性健康讲座将于周五下午在社区卫生服务中心举行。
男性前列腺健康同样需要定期检查。
宫颈癌筛查和人乳头瘤病毒疫苗接种是预防宫颈癌的有效手段。
甲状腺乳头状癌是最常见的甲状腺恶性肿瘤，预后较好。
医生建议孕妈的营养要均衡，适当补充叶酸和铁。
孕期体重增长应控制在合理范围内。
新生儿黄疸多数可以自行消退。
高血压患者应当低盐饮食，规律服药。
糖尿病患者需要监测空腹血糖和糖化血红蛋白。
儿童疫苗接种要按照免疫规划程序按时完成。
流感高发季节，老年人和慢性病患者应优先接种流感疫苗。
体检报告显示总胆固醇偏高，建议复查血脂。
心理健康热线提供二十四小时免费咨询服务。
青少年近视防控需要学校、家庭和医疗机构共同参与。
口腔检查发现两颗龋齿，需要尽快补牙。
急诊科夜间设有专门的儿科诊室。
社区医院开展了老年人慢性病健康管理服务。
全科医生签约服务覆盖率达到百分之七十五。
护士为患者测量了体温、脉搏和血压。
手术前需要禁食八小时。
生殖健康咨询门诊为育龄夫妇提供孕前检查。
辅助生殖技术的成功率与女方年龄密切相关。
卵巢功能评估包括激素水平检测和超声检查。
男性不育症的常见原因包括精索静脉曲张等。
艾滋病自愿咨询检测服务免费且保密。
性病防治知识宣传进校园活动受到学生欢迎。
更年期女性容易出现潮热、失眠等症状。
骨质疏松症的预防要从年轻时开始。
中医认为春季养生要注意养肝。
针灸治疗对部分慢性疼痛有一定效果。
药品说明书上标明了用法用量和不良反应。
医院的安全性评价报告已经提交审查。
这种药物的可能性副作用包括头晕和恶心。
本研究评估了新型疫苗的安全性和有效性。
每天快走三十分钟有助于控制体重。
睡眠不足会影响注意力和记忆力。
献血前应保证充足睡眠，不要空腹。
男女老少都应该养成勤洗手的好习惯。
"""
)

# education and science
EDUCATION = sentences(
    """
成人教育学院今年秋季招收专升本学员八百名。
成人高考报名时间为九月上旬。
孩子长大成人以后，父母更要学会放手。
变成人人都能享受的优质教育资源是我们的目标。
教务处女老师负责本学期的排课工作。
办事处女职工委员会组织了健康知识讲座。
学生处工作人员将于明天公布奖学金名单。
语文课上，老师讲解了这篇文章的感情色彩。
褒义词和贬义词的区别在于感情色彩不同。
这部小说的角色情感细腻，人物形象丰满。
同学们在体操比赛中获得了团体第一名。
学校鼓励学生做爱心公益活动，培养社会责任感。
我们要做爱国守法的好公民。
做爱岗敬业的好教师是每位老师的追求。
做爱读书、爱思考的好孩子。
课外阅读推荐书目包括《红楼梦》和《西游记》。
物理实验课上测量了弹簧的劲度系数。
工程力学课程讲授梁的弯曲和材料的强度。
生物课讲到了杂种优势在水稻育种中的应用。
袁隆平院士利用杂种优势培育出了杂交水稻。
地理课上老师说太阳具有巨大的能量。
夕阳具有一种温柔的美。
新学期开学典礼在学校操场举行。
高考成绩将于六月下旬公布。
大学生志愿者前往山区支教一个月。
研究生入学考试分为初试和复试两个阶段。
学校图书馆新增电子图书两万册。
英语四级考试报名将于下周截止。
小学实行课后延时服务，家长可自愿选择。
职业院校与企业合作开设订单班。
教师资格证考试分为笔试和面试。
孩子的个性发展需要得到尊重。
性格内向的学生也可以在集体中找到自己的位置。
这篇论文讨论了语言的性质和功能。
数学老师讲解了概率与可能性的区别。
学生会组织了读书分享会。
实验室安全培训是新生入学的必修课。
留学生可以申请政府奖学金。
家长会将于本周六上午九点召开。
特殊教育学校为残疾儿童提供康复训练。
历史课讲到了南北朝时期的诗歌，包括玉树后庭花的典故。
注册那天，新生们排队领取了校园卡。
这本手册那么厚，一天肯定看不完。
老师要求大家别偷懒，教练也会检查训练日志。
"""
)

# finance and tax
FINANCE = sentences(
    """
本季度公司营业收入同比增长百分之十二。
央行宣布下调存款准备金率零点五个百分点。
居民消费价格指数同比上涨百分之零点八。
个人所得税专项附加扣除包括子女教育和赡养老人。
增值税专用发票应在规定期限内认证。
本合同金额为人民币柒佰万元整。
银行理财产品不保本，投资需谨慎。
上市公司应当按时披露年度报告。
小微企业贷款余额持续增长。
跨境人民币结算业务规模稳步扩大。
外汇储备规模保持基本稳定。
保险公司推出了新的养老保险产品。
信用卡逾期会影响个人征信记录。
住房公积金贷款利率保持不变。
基金定投适合长期投资者。
证券交易所发布了新的上市规则。
这家公司的市场占有率位居行业第一。
农村信用社为农户提供小额信贷服务。
财政部发行了十年期国债。
地方政府专项债券主要用于基础设施建设。
企业所得税汇算清缴截止时间为五月底。
西瓜批发市场的价格今天有所回落。
本批次产品的买卖比例需要进一步核对。
海关查获一批霉烂货物，已依法处理。
出口交货值同比增长百分之六。
进出口交易会吸引了大量海外采购商。
这笔款项由财务部门统一支付。
电子支付的普及改变了人们的消费习惯。
数字人民币试点范围进一步扩大。
商业银行资本充足率符合监管要求。
"""
)

# transport
TRANSPORT = sentences(
    """
高铁站新增了三条进站通道。
地铁五号线延长线预计年底开通运营。
飞机八点起飞，请提前两小时到达机场。
乘坐机场巴士可以直达市中心。
公交车站台设置了电子站牌。
出租车起步价调整为十元。
路口交通信号灯已经更换为智能信号灯。
靠北边停车，不要占用消防通道。
驾驶你爸的车之前要先确认保险是否有效。
行驶你公司的车辆需遵守车辆管理规定。
请系好安全带，椅子靠背调直。
高速公路服务区提供充电桩服务。
新能源汽车购置税减免政策延续实施。
共享单车应停放在指定区域。
港口集装箱吞吐量同比增长百分之五。
民航旅客运输量恢复到疫情前水平。
春运期间铁路部门加开临时列车。
驾驶员连续驾驶四小时应休息二十分钟。
道路运输许可证有效期为四年。
城市轨道交通客流量创历史新高。
机动车年检可以在网上预约。
航班因天气原因延误两小时。
轮渡码头将于下月恢复夜间航班。
货车司机在服务区休息。
这辆车行驶里程为三万公里。
电动自行车需要上牌才能上路。
停车场实行分时段收费。
隧道内禁止变道和超车。
桥梁检测发现部分支座需要更换。
物流园区实现了无人仓储作业。
"""
)

# government and public services
GOVERNMENT = sentences(
    """
国务院印发了关于加快发展养老服务业的若干意见。
市政府召开常务会议研究部署安全生产工作。
各级政府要切实保障和改善民生。
人大代表建议加强农村饮水安全工程建设。
政协委员围绕乡村振兴建言献策。
依法行政是建设法治政府的基本要求。
政务服务大厅实行一窗受理、集成服务。
本市户籍人口和常住人口数据已经公布。
街道办事处为辖区居民提供便民服务。
居委会组织了垃圾分类宣传活动。
第七次全国人口普查结果显示人口总量保持增长。
统计局发布了上半年国民经济运行情况。
生态环境部门加强了大气污染防治。
应急管理部门开展了防汛演练。
消防救援队伍进行了高层建筑灭火演练。
公安机关开展了反电信网络诈骗宣传。
市场监管局抽检食品样品三千批次。
住建部门推进老旧小区改造。
农业农村部门发布了春耕生产指导意见。
民政部门提高了城乡低保标准。
人力资源和社会保障部门开展了春风行动。
退役军人服务站为退役军人提供就业帮扶。
文化和旅游部门公布了国家级非物质文化遗产名录。
水利部门加快推进重大水利工程建设。
自然资源部门开展了国土空间规划编制。
审计机关发现部分资金使用不规范。
信访部门畅通了群众诉求表达渠道。
政府信息公开年度报告已在官网发布。
本通知自印发之日起施行。
各单位要高度重视，认真抓好落实。
请各区县于本月底前报送工作总结。
今日批准的项目将进入公示阶段。
次日批复的文件已经下发到各单位。
该处女性干部比例达到百分之四十。
依靠母亲的退休金生活的家庭可以申请补助。
孩子们不能总是靠爸妈，要学会独立。
用户注册那天需要完成实名认证。
"""
)

# family and daily life (with the harmless uses of left-out terms)
DAILY = sentences(
    """
今天是我妈的生日，全家一起吃了晚饭。
妈妈的手艺越来越好了。
老妈的红烧肉是全家人的最爱。
姑妈的女儿今年考上了大学。
舅妈的店铺生意很红火。
广场上大妈的舞蹈队每天晚上都在跳舞。
他妈妈是一名中学老师。
你妈妈最近身体怎么样？
他奶奶今年八十岁了，身体还很硬朗。
祝你全家新年快乐，万事如意。
你是鸡年出生的吧？
我妈比我高一点。
生日你妈妈给你买了什么礼物？
姑娘的笑容很灿烂。
新娘的婚纱非常漂亮。
老板娘的店里卖各种小吃。
其他妈妈也来参加了家长会。
其他马的速度都比不上这匹。
他家中排行老二。
老祖宗留下的智慧值得我们学习。
这家店的老味道吸引了很多回头客。
他的老母亲已经九十岁了。
周末去菜市场买了扇贝肉和猪粉肠。
炸鸡八块一份，现在有优惠。
买只鸡吧，晚上炖汤喝。
公鸡鸡冠是红色的。
马奶子葡萄是新疆的特产。
这家饭店的肉夹馍很好吃。
他打了几巴掌蚊子。
手机八折优惠活动今天截止。
我们一起去西瓜批发市场看看。
遛狗日常也是一种放松。
他每天都写养狗日记。
小孩子做爱干净的好孩子。
天气预报说明天有雨。
周末我们去公园散步。
超市里的水果很新鲜。
邻居家的小狗很可爱。
晚饭后全家一起看电视。
他的工作激情很高。
这位艺术家放荡不羁。
小朋友在屁股上打了一针。
她的处女作获得了文学奖。
他是处女座的，做事很认真。
这艘邮轮将于下月开始处女航。
一天干七八个小时的活很辛苦。
你要干你的工作，不要分心。
生日你好，祝你快乐。
紫外线照射你的皮肤会导致晒伤。
请插你的银行卡完成支付。
我想上你们学校读研究生。
他的肌肉棒棒的。
血管肌肉壁增厚提示高血压可能。
老师密切关注学生的思想动态，缜密洞察问题。
这种机器的刚度很高。
他吹箫的技艺很好。
九游平台上架了一款新游戏。
请在下午13点前提交报告。
这次考试他得了13.5分。
第十三点意见是关于预算的。
野鸡在田间觅食。
合肥市肥西县是著名的三国故里。
夏天要注意防晒。
他笨手笨脚地打翻了杯子。
今天真倒霉，钱包丢了。
这个路口肯定有测速摄像头。
"""
)

EVERYDAY = HEALTH + EDUCATION + FINANCE + TRANSPORT + GOVERNMENT + DAILY


def demo_texts() -> list[str]:
    texts: list[object] = []
    with gzip.open(DEMO / "open_data_zh.jsonl.gz", "rt", encoding="utf-8") as handle:
        texts += [json.loads(line).get("text") for line in handle]
    for line in (DEMO / "web_en.jsonl").read_bytes().splitlines():
        try:
            texts.append(json.loads(line.decode("utf-8")).get("text"))
        except (UnicodeDecodeError, ValueError, AttributeError):
            continue  # the sample's deliberately malformed lines
    texts += pq.read_table(DEMO / "licensed_vertical.parquet", columns=["text"]).column("text").to_pylist()
    return [text for text in texts if isinstance(text, str) and text]


# -- the files ----------------------------------------------------------------------------------------


def test_pack_files_load_as_flag_only_lexicons():
    zh, en = pack("zh"), pack("en")
    for language, lexicon in (("zh", zh), ("en", en)):
        assert lexicon.name == f"ldnoobw-{language}"
        assert lexicon.version == "ldnoobw-naughty-words-1.2.0"
        assert lexicon.duplicates == 0
        assert {term.severity for term in lexicon.terms} == {"flag"}
    assert {term.risk for term in zh.terms} == {"A1f"}
    assert {term.risk for term in en.terms} == {"A1f", "A2a"}
    assert len(zh.terms) >= 150 and len(en.terms) >= 150
    readme = (PACK / "README.md").read_text(encoding="utf-8")
    for language, lexicon in (("zh", zh), ("en", en)):
        allowed = sum(1 for term in lexicon.terms if term.allow)
        row = next(line for line in readme.splitlines() if line.startswith(f"| {language} |"))
        cells = [cell.strip() for cell in row.strip("|").split("|")]
        assert int(cells[2]) == len(lexicon.terms) and int(cells[5]) == allowed
        assert int(cells[1]) == int(cells[2]) + int(cells[3]) + int(cells[4])


def test_lexicon_check_accepts_the_pack_but_strict_reports_the_minima(cli):
    files = [PACK / "zh.yaml", PACK / "en.yaml"]
    assert cli("safety", "lexicon-check", *files).exit_code == 0
    assert cli("safety", "lexicon-check", *files, "--strict").exit_code == 1
    report = json.loads(cli("safety", "lexicon-check", *files, "--format", "json").output)
    assert report["ok"] and not report["coverage"]["meets_minima"]
    assert report["coverage"]["shortfall"]["total"] > 9000


def test_licence_and_attribution_travel_with_the_pack():
    licence = (PACK / "LICENSE").read_text(encoding="utf-8")
    assert licence.startswith("Attribution 4.0 International")
    assert "Creative Commons Attribution 4.0 International Public License" in licence
    readme = (PACK / "README.md").read_text(encoding="utf-8")
    for needed in (
        "CC BY 4.0",
        "https://creativecommons.org/licenses/by/4.0/",
        "Shutterstock",
        UPSTREAM,
        "naughty-words",
        "1.2.0",
        script().TARBALL_SHA256,
        "Changes",
        "clause 8.1",
    ):
        assert needed in readme, needed
    for language in ("zh", "en"):
        head = (PACK / f"{language}.yaml").read_text(encoding="utf-8").split("\nname:")[0]
        assert "CC BY 4.0" in head and UPSTREAM in head and "Shutterstock" in head


def test_left_out_terms_are_out_and_documented():
    module = script()
    readme = (PACK / "README.md").read_text(encoding="utf-8")
    for language, (_, left_out, allow, _) in module.LANGUAGES.items():
        kept = {term.text for term in pack(language).terms}
        with_allow = {term.text for term in pack(language).terms if term.allow}
        for group in left_out.values():
            for term, _ in group:
                assert normalise(term) not in kept
                assert f"`{term}`" in readme
        assert {normalise(term) for term in allow} == with_allow


# -- false positives and hits ---------------------------------------------------------------------------


def test_everyday_chinese_text_has_no_hits():
    assert len(EVERYDAY) >= 200 and len(set(EVERYDAY)) == len(EVERYDAY)
    assert hits(EVERYDAY) == []


def test_demo_sample_has_no_hits():
    texts = demo_texts()
    assert len(texts) >= 300
    assert hits(texts) == []


def test_pack_terms_are_flagged_in_synthetic_sentences():
    zh = [term for term in pack("zh").terms if not term.allow and len(term.text) >= 2][:3]
    for term in zh:
        result = matcher().scan(f"他在会上说了一句{term.text}，然后离开了。")
        assert result.hits == {"A1f": 1} and not result.blocked  # flag: kept and marked
    slur = next(term for term in pack("en").terms if term.risk == "A2a" and term.text.isalpha())
    assert matcher().scan(f"The comment called him a {slur.text} twice.").hits == {"A2a": 1}
    word = next(term for term in pack("en").terms if term.text.isalpha() and len(term.text) <= 5)
    assert matcher().scan(f"They said {word.text} and left.").hits == {"A1f": 1}
    assert matcher().scan(f"A sub{word.text}ion of a word is not a hit.").hits == {}  # whole words
    allowed = next(term for term in pack("zh").terms if term.allow)
    context = allowed.allow[0]
    assert matcher().scan(f"他提到了{context}。").allowed >= 1
    assert matcher().scan(f"他提到了{context}。").hits == {}


def test_safety_stage_runs_with_the_pack(cli, tmp_path):
    term = next(term for term in pack("zh").terms if not term.allow and len(term.text) >= 2)
    records = [
        {"id": "clean", "text": "乳腺检查建议每年进行一次，成人教育学院今年秋季招生。"},
        {"id": "rude", "text": f"他在会上说了一句{term.text}。"},
    ]
    corpus = tmp_path / "in.jsonl"
    corpus.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    lexicons = f"{PACK / 'zh.yaml'},{PACK / 'en.yaml'}"
    out = tmp_path / "out"
    result = cli(
        "safety", corpus, "-o", out, "--lexicon", lexicons, "--action", "drop",
        "--source-threshold", "1", "-w", "1",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    table = pq.read_table(out / "data")
    safety = dict(zip(table.column("id").to_pylist(), table.column("safety").to_pylist(), strict=True))
    assert json.loads(safety["rude"]) == {"risks": {"A1f": 1}, "flagged": True}  # flag: kept
    assert not json.loads(safety["clean"]).get("flagged")


# -- the generator ----------------------------------------------------------------------------------------


def test_generator_refuses_another_package(tmp_path, capsys):
    fake = tmp_path / "package"
    fake.mkdir()
    for name in ("zh.json", "en.json"):
        (fake / name).write_text("[]", encoding="utf-8")
    (fake / "LICENSE").write_text("MIT", encoding="utf-8")
    meta = {"name": "naughty-words", "version": "1.2.0", "license": "MIT"}
    (fake / "package.json").write_text(json.dumps(meta), encoding="utf-8")
    assert script().main(["--from", str(fake), "--check", "-o", str(tmp_path / "none")]) == 1
    assert "license is 'MIT'" in capsys.readouterr().err
    meta["license"] = "CC-BY-4.0"
    (fake / "package.json").write_text(json.dumps(meta), encoding="utf-8")
    assert script().main(["--from", str(fake), "--check", "-o", str(tmp_path / "none")]) == 1
    assert "sha256" in capsys.readouterr().err  # same name, version, licence: other bytes


def test_generator_reproduces_the_pack_byte_for_byte(tmp_path, capsys):
    assert script().main(["--from", str(PACKAGE), "--check"]) == 0, capsys.readouterr().err
    copy = tmp_path / "ldnoobw"
    shutil.copytree(PACK, copy)
    readme = copy / "README.md"
    readme.write_bytes(readme.read_bytes().replace(b"CC BY 4.0", b"CC BY 3.0", 1))
    assert script().main(["--from", str(PACKAGE), "--check", "-o", str(copy)]) == 1
    assert "README.md" in capsys.readouterr().err
