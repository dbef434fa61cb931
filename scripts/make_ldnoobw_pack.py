"""Make the optional LDNOOBW lexicon pack in ``rules/safety/packs/ldnoobw/`` (a dev-only script; its
outputs are committed).

Source: the npm package ``naughty-words`` 1.2.0 (licence CC-BY-4.0), the npm release of
LDNOOBW/List-of-Dirty-Naughty-Obscene-and-Otherwise-Bad-Words (c) 2012-2020 Shutterstock, Inc.
The package is fetched with ``npm pack naughty-words@1.2.0`` (the registry's ordinary client) into
a temporary folder, or read from ``--from`` (an unpacked package folder or the ``.tgz``). Before
anything is written the script checks:

* ``package.json``: name ``naughty-words``, version ``1.2.0``, licence ``CC-BY-4.0``;
* the tarball's sha256 against :data:`TARBALL_SHA256` (when the tarball is at hand), and the sha256
  of every file it reads (``package.json``, ``zh.json``, ``en.json``, ``LICENSE``) against
  :data:`FILE_SHA256`, so an unpacked folder is held to the same bytes;
* the curation below against the lists: every term it names must be in the upstream list.

It writes ``zh.yaml`` and ``en.yaml`` (corpus-kit lexicons: every term ``severity: flag``, risk
``A1f`` except ethnic slurs, ``A2a``; terms left out and allow contexts as curated below),
``LICENSE`` (the package's own CC BY 4.0 text, byte for byte) and ``README.md`` (attribution, the
changes made, how to use the pack). Each lexicon is loaded back with corpus-kit's loader before it is
written.

Run: ``python scripts/make_ldnoobw_pack.py [--from DIR|TGZ] [--updated YYYY-MM-DD] [--check]
[-o rules/safety/packs/ldnoobw]``. ``updated`` is today's date unless given; ``--check`` writes
nothing and compares what it would write with the files in place (taking ``updated`` from the
committed ``zh.yaml``), exit 1 on any difference.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import textwrap
from datetime import date
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # run from a checkout: the corpus_kit next to this script

PACKAGE = "naughty-words"
VERSION = "1.2.0"
LICENCE = "CC-BY-4.0"
UPSTREAM = "https://github.com/LDNOOBW/List-of-Dirty-Naughty-Obscene-and-Otherwise-Bad-Words"
NPM_PAGE = f"https://www.npmjs.com/package/{PACKAGE}/v/{VERSION}"
LICENCE_URL = "https://creativecommons.org/licenses/by/4.0/"
COPYRIGHT = "© 2012–2020 Shutterstock, Inc."  # as the package's README.md states it
PACK_VERSION = f"ldnoobw-{PACKAGE}-{VERSION}"
PACK = "rules/safety/packs/ldnoobw"
DEFAULT_OUT = REPO / PACK

#: ``npm pack naughty-words@1.2.0`` (npm 11.19.1, 2026): the tarball's sha256 and npm's integrity.
TARBALL_SHA256 = "c34b05e10a97ec7b9e0c3dd91d09888187c0f08d0812eaea79679795585b217e"
TARBALL_INTEGRITY = (
    "sha512-0iadX6fN+3NsfvIRtWmmpEX9VsoIQ6n9FwyIxmew9w5yzFNqMgs/Ky0eAC/z5xXSHtqlVoByiovdROikwH9SXQ=="
)
#: The files read from the package, as they are in that tarball.
FILE_SHA256 = {
    "package.json": "e6e1318a6fefd40db15dbf3748d511304eb75d10f409c19273cde99a03668490",
    "zh.json": "2929f0a5d2594a5805438d6bba94a6f9ace67d408d6ed9a438afe16a02a1acb3",
    "en.json": "93318918595948065b83050eb31910d369466401e215e44af6d2c7a71fae56f2",
    "LICENSE": "286bf9236b0a8c30880ab55e8d86b33057ca4327f891d46f0b0e6454d960e17b",
}

# -- curation ---------------------------------------------------------------------------------------
# Terms left out, by reason, each with the everyday use that rules it out. A term is written as the
# upstream list spells it.

ZH_LEFT_OUT: dict[str, list[tuple[str, str]]] = {
    "single characters: part of hundreds of everyday words, so no allow list could be complete": [
        ("乳", "乳制品, 乳腺, 母乳"),
        ("奶", "牛奶, 奶粉, 奶奶"),
        ("奸", "汉奸, 奸商, 奸诈"),
        ("姦", "= 奸 once normalised"),
        ("妓", "艺妓, 歌妓 (history)"),
        ("性", "性别, 性能, 可能性, 女性"),
        ("卵", "卵巢, 鹅卵石"),
        ("淫", "淫雨霏霏, 淫威, 骄奢淫逸"),
        ("逼", "逼近, 逼迫"),
        ("幹", "= 干 once normalised: 干部, 干净, 干燥"),
        ("爛", "= 烂 once normalised: 烂尾楼, 灿烂"),
        ("賤", "= 贱 once normalised: 贵贱"),
        ("尻", "尻尾 (Japanese: tail)"),
        ("鳩", "= 鸠 once normalised: 斑鸠, 鸠占鹊巢"),
        ("撚", "撚 (twist), 撚线"),
        ("柒", "upper-case seven on invoices: 柒佰元"),
    ],
    "clinical, anatomical and biological words of health, sex-education and science texts": [
        ("乳头", "乳头状甲状腺癌, 乳头溢液"),
        ("小乳头", "十二指肠小乳头"),
        ("乳房", "乳房自检, 乳房X线摄影"),
        ("交配", "动物的交配季节"),
        ("包皮", "包皮环切术"),
        ("卵子", "卵子冷冻, 精子和卵子"),
        ("大卵子", "卵子 (biology)"),
        ("小卵子", "卵子 (biology)"),
        ("大卵泡", "B超监测大卵泡 (fertility treatment)"),
        ("小卵泡", "窦卵泡, 小卵泡 (fertility treatment)"),
        ("外阴", "外阴炎"),
        ("射精", "射精功能障碍"),
        ("性交", "性交后出血 (gynaecology)"),
        ("性器", "性器官发育"),
        ("月经", "月经周期"),
        ("精子", "精子质量"),
        ("阴唇", "gynaecology"),
        ("阴户", "中医: 阴户肿痛"),
        ("阴核", "gynaecology"),
        ("阴毛", "阴毛脱落 (endocrinology)"),
        ("阴茎", "阴茎癌"),
        ("阴道", "阴道炎, 阴道分娩"),
        ("阴部", "阴部瘙痒"),
        ("陰莖", "= 阴茎 once normalised"),
        ("阳萎", "variant of 阳痿 (andrology)"),
        ("龟头", "龟头炎"),
        ("花柳", "花柳病 (history of medicine); 花柳繁华地 (红楼梦)"),
    ],
    "words whose main sense is harmless, names and places": [
        ("13.", "any decimal: 13.4%"),
        ("13点", "下午13点开会"),
        ("十三点", "第十三点意见, 十三点整"),
        ("九游", "a game platform (brand), not profanity"),
        ("刚度", "stiffness: 材料的刚度"),
        ("吹箫", "playing the xiao flute"),
        ("后庭", "玉树后庭花; the inner palace"),
        ("玉杵", "玉杵捣药 (the moon rabbit)"),
        ("屁股", "打针打屁股, everyday"),
        ("成人", "成人教育, 长大成人"),
        ("激情", "工作激情"),
        ("放荡", "放荡不羁"),
        ("祖宗", "老祖宗的智慧"),
        ("私服", "casual clothes; private game servers"),
        ("笨蛋", "a mild everyday word, not A1f"),
        ("老二", "家中老二 (the second child)"),
        ("老味", "老味道"),
        ("老母", "老母亲"),
        ("肥西", "肥西县 (Anhui)"),
        ("野鸡", "pheasant; 野鸡大学"),
        ("贝肉", "扇贝肉 (food)"),
        ("粉腸", "= 粉肠 (food)"),
        ("硬膠", "= 硬胶 (hard plastic)"),
        ("你老闆", "= 你老板 (your boss)"),
        ("笨實", "粗笨实用"),
        ("鬼公", "魔鬼公园, 内鬼公司"),
        ("打炮", "artillery: 向敌军阵地打炮"),
        ("撒尿", "everyday (children, animals)"),
        ("小肉粒", "cooking: 切成小肉粒"),
        ("迷药", "a crime-news word, not profanity or sexual"),
    ],
    "family words of everyday speech (the curses built on them are kept)": [
        ("他奶奶", "他奶奶今年八十岁"),
        ("他奶奶的", "他奶奶的生日"),
        ("你奶奶的", "你奶奶的身体还好吗"),
        ("他妈", "他妈妈是老师"),
        ("你妈", "你妈妈"),
        ("他娘", "他娘 = his mother (northern speech, fiction)"),
        ("你娘", "你娘家"),
        ("娘的", "姑娘的, 新娘的, 老板娘的"),
        ("妈妈的", "妈妈的生日"),
        ("妈比", "我妈比我高"),
        ("你全家", "祝你全家幸福"),
        ("你是鸡", "你是鸡年出生的"),
        ("你是鸭", "你是鸭蛋过敏吗"),
    ],
    "strings that span a word boundary in ordinary sentences (the continuations are open-ended)": [
        ("干你", "干你的工作"),
        ("干七八", "一天干七八个小时"),
        ("日你", "生日你好"),
        ("日批", "今日批准"),
        ("册那", "注册那天, 这本手册那么厚"),
        ("射你", "紫外线照射你的皮肤"),
        ("插你", "插你的银行卡"),
        ("想上你", "我想上你们学校"),
        ("机八", "飞机八点起飞, 手机八折"),
        ("鸡八", "炸鸡八块"),
        ("鸡8", "鸡8元一斤"),
        ("鸡吧", "买只鸡吧"),
        ("鸡鸡", "公鸡鸡冠"),
        ("小鸡鸡", "小鸡鸡蛋 (children's word too)"),
        ("卖比", "买卖比例"),
        ("操比", "体操比赛"),
        ("处女", "教务处女老师; 处女作, 处女座"),
        ("靠北", "靠北边停车"),
        ("靠母", "依靠母亲"),
        ("靠爸", "靠爸妈"),
        ("靠背", "椅子靠背"),
        ("靠腰", "靠腰部力量"),
        ("口肯", "路口肯定有车"),
        ("口交", "出口交货, 路口交通, 接口交互"),
        ("乳交", "母乳交替喂养"),
        ("性爱", "理性爱国, 个性爱好, 女性爱美"),
        ("懒教", "别偷懒教练来了"),
    ],
}

EN_LEFT_OUT: dict[str, list[tuple[str, str]]] = {
    "clinical and anatomical words of health and science texts": [
        ("anal", "anal fissure"),
        ("anus", "medicine"),
        ("clitoris", "medicine"),
        ("ejaculation", "medicine"),
        ("fecal", "fecal occult blood test"),
        ("genitals", "medicine"),
        ("nipple", "medicine, baby bottles"),
        ("nipples", "medicine"),
        ("penis", "medicine"),
        ("pubes", "anatomy"),
        ("rectum", "medicine"),
        ("semen", "medicine"),
        ("vagina", "medicine"),
        ("vulva", "medicine"),
        ("wet dream", "puberty education"),
        ("intercourse", "social intercourse"),
        ("sex", "sex ratio, sex education"),
        ("sexo", "Spanish/Portuguese: sexo femenino"),
        ("sexual", "sexual health"),
        ("sexually", "sexually transmitted infections"),
        ("sexuality", "sociology"),
    ],
    "words and names whose main sense is harmless": [
        ("bareback", "bareback riding"),
        ("barenaked", "Barenaked Ladies (a band)"),
        ("bondage", "freed from bondage"),
        ("bunghole", "cooperage"),
        ("bung hole", "cooperage"),
        ("butt", "cigarette butt"),
        ("cialis", "a medicine brand"),
        ("cock", "the cock crowed"),
        ("cocks", "poultry"),
        ("coon", "raccoon; surname"),
        ("coons", "raccoons"),
        ("cornhole", "a lawn game"),
        ("cum", "summa cum laude"),
        ("cumming", "a surname and place name"),
        ("dick", "Moby-Dick, Philip K. Dick"),
        ("domination", "market domination"),
        ("escort", "police escort"),
        ("eunuch", "history"),
        ("fingering", "guitar fingering"),
        ("grope", "grope for words"),
        ("guro", "Tagalog: teacher"),
        ("hard core", "a hard core of supporters"),
        ("hardcore", "a music genre"),
        ("hooker", "a rugby position; a surname"),
        ("horny", "horny layer of the skin"),
        ("kinky", "kinky hair"),
        ("lolita", "Nabokov's novel"),
        ("mong", "Hmong; names"),
        ("negro", "Spanish/Portuguese: black; Río Negro"),
        ("nude", "the nude in art"),
        ("nudity", "content policies, art history"),
        ("octopussy", "a James Bond film"),
        ("panties", "clothing retail"),
        ("panty", "panty liner"),
        ("pegging", "currency pegging"),
        ("playboy", "a rich playboy"),
        ("poof", "and poof, it was gone"),
        ("poon", "a surname"),
        ("sadism", "psychology"),
        ("santorum", "a surname"),
        ("scat", "scat singing; animal scat"),
        ("scissoring", "cutting"),
        ("sexy", "advertising copy"),
        ("shota", "a Japanese given name"),
        ("shrimping", "shrimp fishing"),
        ("skeet", "skeet shooting"),
        ("snatch", "snatch a win"),
        ("snowballing", "costs are snowballing"),
        ("spastic", "spastic paralysis"),
        ("spunk", "courage"),
        ("suck", "suck up water"),
        ("sucks", "everyday"),
        ("swinger", "everyday"),
        ("tit", "blue tit (a bird)"),
        ("tits", "blue tits"),
        ("twinkie", "a snack"),
        ("undressing", "undressing a wound"),
        ("vibrator", "concrete vibrator"),
        ("viagra", "a medicine brand"),
        ("xx", "XX chromosomes; placeholders"),
        ("xxx", "placeholders: XXX公司, xxx先生"),
    ],
    "phrases that occur in ordinary sentences": [
        ("alaskan pipeline", "the Trans-Alaska pipeline"),
        ("baby juice", "juice for babies"),
        ("ball kicking", "ball kicking drills"),
        ("barely legal", "the move was barely legal"),
        ("big black", "a big black dog"),
        ("deep throat", "Watergate's informant"),
        ("girl on", "the girl on the train"),
        ("girl on top", "the girl on top of the hill"),
        ("huge fat", "huge fat deposits"),
        ("jelly donut", "food"),
        ("make me come", "make me come back"),
        ("pleasure chest", "everyday"),
        ("spread legs", "exercise instructions"),
        ("strap on", "strap on your helmet"),
        ("tainted love", "a song"),
        ("taste my", "taste my cooking"),
        ("tied up", "tied up in meetings"),
        ("tight white", "tight white jeans"),
        ("tongue in a", "everyday"),
        ("wrapping men", "wrapping men's gifts"),
    ],
    "outside the pack's scope (violence queries, extremist symbols: the filer's A1d/A1e library)": [
        ("how to kill", "how to kill weeds"),
        ("how to murder", "crime fiction"),
        ("neonazi", "news reporting"),
        ("swastika", "Buddhist and Hindu symbol; history"),
        ("white power", "news reporting"),
    ],
}

#: Allow contexts: the term does not count inside them (each contains its term).
ZH_ALLOW: dict[str, list[str]] = {
    "他妈的": ["其他妈的"],
    "他马的": ["其他马的"],
    "它妈的": ["其它妈的"],
    "几巴": ["几巴掌"],
    "塞你公": ["塞你公司", "阻塞你公", "堵塞你公"],
    "奶子": ["马奶子", "牛奶子"],
    "妈的": [
        "我妈的",
        "妈妈的",
        "其他妈的",
        "其它妈的",
        "老妈的",
        "姨妈的",
        "姑妈的",
        "舅妈的",
        "大妈的",
        "后妈的",
        "干妈的",
        "奶妈的",
        "宝妈的",
        "孕妈的",
        "辣妈的",
        "亲妈的",
        "咱妈的",
        "俺妈的",
        "二妈的",
        "婶妈的",
    ],
    "密洞": ["密洞察", "密洞悉"],
    "操你": ["体操你"],
    "日你妈": ["日你妈妈"],
    "日你老母": ["日你老母亲"],
    "机巴": ["机巴士", "机巴掌", "机巴黎", "机巴西", "机巴基斯坦", "机巴勒斯坦", "机巴拿马"],
    "杂种": [
        "杂种优势",
        "杂种后代",
        "杂种一代",
        "杂种二代",
        "种间杂种",
        "远缘杂种",
        "杂种不育",
        "杂种f1",
        "杂种f2",
    ],
    "狗日": ["狗日常", "狗日记", "狗日粮", "狗日程", "狗日子"],
    "瓜批": ["瓜批发", "瓜批次"],
    "烂货": ["烂货物", "烂货品"],
    "肉壁": ["肌肉壁"],
    "肉棒": ["肌肉棒"],
    "阳具": ["阳具有", "阳具备", "太阳具", "夕阳具", "朝阳具"],
    "性无能": ["性无能为力"],
    "做爱": [
        "做爱心",
        "做爱国",
        "做爱岗",
        "做爱护",
        "做爱好",
        "做爱读",
        "做爱学",
        "做爱思",
        "做爱干",
        "做爱运",
        "做爱家",
        "做爱笑",
        "做爱惜",
        "做爱党",
        "做爱民",
        "做爱书",
        "做爱劳",
        "做爱科",
    ],
    "色情": [
        "色情况",
        "色情感",
        "色情绪",
        "色情怀",
        "色情调",
        "色情谊",
        "色情愫",
        "色情境",
        "色情形",
        "色情操",
        "角色情",
        "特色情",
        "景色情",
        "夜色情",
        "出色情",
        "脸色情",
        "神色情",
        "春色情",
    ],
    "情色": ["情色彩", "情色调", "情色泽"],
    "打飞机": ["打飞机游戏"],
    "你老母": ["你老母亲"],
    **{f"驶你{who}": [f"驾驶你{who}", f"行驶你{who}"] for who in ("公", "娘", "母", "爸", "老师", "老母")},
}
ZH_ALLOW["驶你公"] += ["驶你公司"]

EN_ALLOW: dict[str, list[str]] = {
    "pussy": ["pussy cat", "pussy willow"],
    "rape": ["oilseed rape", "rape seed", "rape oil"],
    "golden shower": ["golden shower tree"],
    "spic": ["spic and span"],
}

#: Ethnic and racial slurs: Annex A's A2a (民族歧视内容), not A1f.
_SLURS = "beaner beaners darkie honkey jigaboo jiggaboo jiggerboo kike nigga nigger paki pikey raghead"
EN_RISK = dict.fromkeys([*_SLURS.split(), "slanteye", "spic", "towelhead", "wetback", "nig nog"], "A2a")

LANGUAGES = {
    "zh": ("Chinese", ZH_LEFT_OUT, ZH_ALLOW, {}),
    "en": ("English", EN_LEFT_OUT, EN_ALLOW, EN_RISK),
}


class PackError(RuntimeError):
    """The package is not the pinned one, or the pack cannot be written: one line for the user."""


# -- fetching and checking the package -------------------------------------------------------------


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def npm_pack(folder: Path) -> Path:
    """``npm pack naughty-words@1.2.0`` into ``folder``; the tarball's path."""
    npm = shutil.which("npm")
    if npm is None:
        raise PackError("npm not found; install Node.js or give --from DIR (an unpacked package)")
    result = subprocess.run(
        [npm, "pack", f"{PACKAGE}@{VERSION}", "--json", "--ignore-scripts"],
        cwd=folder,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    if result.returncode != 0:
        raise PackError(f"npm pack failed: {result.stderr.strip()[-500:]}")
    try:
        info = json.loads(result.stdout)[0]
    except (ValueError, IndexError, KeyError) as error:
        raise PackError(f"npm pack printed no package information ({error})") from None
    if info.get("integrity") != TARBALL_INTEGRITY:
        raise PackError(f"npm reports integrity {info.get('integrity')}, expected {TARBALL_INTEGRITY}")
    return folder / info["filename"]


def unpack(tarball: Path, folder: Path) -> Path:
    """Check the tarball's sha256 and unpack its top-level regular files; the package folder."""
    digest = sha256(tarball.read_bytes())
    if digest != TARBALL_SHA256:
        raise PackError(f"{tarball.name}: sha256 {digest}, expected {TARBALL_SHA256}")
    with tarfile.open(tarball, "r:gz") as archive:
        for member in archive.getmembers():
            parts = Path(member.name).parts
            if not member.isfile() or parts[:1] != ("package",) or ".." in parts or len(parts) != 2:
                continue  # only the package's top-level files are read
            source = archive.extractfile(member)
            if source is not None:
                (folder / "package").mkdir(exist_ok=True)
                (folder / "package" / parts[1]).write_bytes(source.read())
    return folder / "package"


def read_package(folder: Path) -> dict[str, bytes]:
    """The files the pack is made from, checked: package.json's name, version and licence first (a
    clear refusal for another package), then every file's sha256."""
    files: dict[str, bytes] = {}
    for name in FILE_SHA256:
        path = folder / name
        if not path.is_file():
            raise PackError(f"{path}: missing; is {folder} an unpacked {PACKAGE} package?")
        files[name] = path.read_bytes()
    meta = json.loads(files["package.json"])
    for key, expected in (("name", PACKAGE), ("version", VERSION), ("license", LICENCE)):
        if meta.get(key) != expected:
            raise PackError(f"package.json: {key} is {meta.get(key)!r}, expected {expected!r}")
    for name, data in files.items():
        if sha256(data) != FILE_SHA256[name]:
            raise PackError(f"{name}: sha256 {sha256(data)} differs from {PACKAGE} {VERSION}'s")
    return files


# -- making the pack --------------------------------------------------------------------------------


def curate(language: str, upstream: list[str]) -> tuple[list[dict], list[str]]:
    """The pack's entries ``{term, risk, allow}`` in upstream order, and the upstream terms that are
    the same as an earlier one once normalised (kept once)."""
    from corpus_kit.stages.safety.normalise import normalise

    _, left_out, allow, risks = LANGUAGES[language]
    out = {term for group in left_out.values() for term, _ in group}
    named = out | set(allow) | set(risks)
    missing = sorted(named - set(upstream))
    if missing:
        raise PackError(f"{language}: the curation names {len(missing)} term(s) not in the upstream list")
    both = sorted(out & (set(allow) | set(risks)))
    if both:
        raise PackError(f"{language}: {len(both)} term(s) both left out and curated")
    entries: list[dict] = []
    seen: set[str] = set()
    repeated: list[str] = []
    for term in upstream:
        if term in out:
            continue
        key = normalise(term).strip()
        if key in seen:
            repeated.append(term)
            continue
        seen.add(key)
        contexts = allow.get(term, [])
        for context in contexts:
            if key not in normalise(context):
                raise PackError(f"{language}: an allow context of entry {len(entries) + 1} lacks its term")
        entries.append({"term": term, "risk": risks.get(term, "A1f"), "allow": contexts})
    return entries, repeated


def q(text: str) -> str:
    """A YAML double-quoted scalar (JSON's string syntax is YAML's)."""
    return json.dumps(text, ensure_ascii=False)


def lexicon_yaml(language: str, entries: list[dict], updated: date) -> str:
    title = LANGUAGES[language][0]
    codes = "risk A1f; ethnic slurs A2a" if language == "en" else "risk A1f"
    lines = [
        f"# LDNOOBW {title} ({language}) as a corpus-kit lexicon: an OPTIONAL pack of profanity and sexual",
        f"# terms ({codes}), every one severity flag. Far below the clause 8.1 minima and no",
        "# substitute for the filer's own keyword library. See README.md in this folder.",
        "#",
        f"# Source: npm package {PACKAGE} {VERSION} ({NPM_PAGE}),",
        f"#   {UPSTREAM}",
        f"#   tarball sha256 {TARBALL_SHA256}",
        f"#   {language}.json sha256 {FILE_SHA256[f'{language}.json']}",
        f"# {COPYRIGHT} Licensed under CC BY 4.0 ({LICENCE_URL}); licence text in LICENSE.",
        "# Modified by corpus-kit: terms left out; risk codes, severity, allow contexts added (README.md).",
        "# Generated by scripts/make_ldnoobw_pack.py; do not edit by hand.",
        f"name: ldnoobw-{language}",
        f"version: {q(PACK_VERSION)}",
        f"updated: {updated.isoformat()}",
        "terms:",
    ]
    for entry in entries:
        fields = [f"term: {q(entry['term'])}", f"risk: {entry['risk']}", "severity: flag"]
        if entry["allow"]:
            fields.append("allow: [" + ", ".join(q(context) for context in entry["allow"]) + "]")
        lines.append("  - {" + ", ".join(fields) + "}")
    return "\n".join(lines) + "\n"


def readme(stats: dict[str, dict]) -> str:
    zh, en = stats["zh"], stats["en"]

    def left_out_section(language: str) -> list[str]:
        title, left_out, _, _ = LANGUAGES[language]
        lines = [f"### {title}: terms left out ({stats[language]['left_out']})", ""]
        for reason, group in left_out.items():
            lines.append(f"*{reason[0].upper()}{reason[1:]}* ({len(group)}):")
            lines.append("")
            lines.extend(f"- `{term}`: {why}" for term, why in group)
            lines.append("")
        return lines

    def allow_section(language: str) -> list[str]:
        title, _, allow, _ = LANGUAGES[language]
        lines = [f"### {title}: terms with allow contexts ({len(allow)})", ""]
        lines += ["| term | does not count inside |", "|---|---|"]
        lines += [f"| `{term}` | {', '.join(contexts)} |" for term, contexts in allow.items()]
        return [*lines, ""]

    slurs = ", ".join(f"`{term}`" for term in EN_RISK) + "."
    text = [
        "# LDNOOBW lexicon pack (optional)",
        "",
        "An **optional** corpus-kit lexicon pack made from *List of Dirty, Naughty, Obscene, and Otherwise",
        "Bad Words* (LDNOOBW): `zh.yaml` (Chinese) and `en.yaml` (English). It covers **profanity and",
        "sexual terms only** (Annex A risk `A1f`, 宣扬暴力、淫秽色情, plus English ethnic slurs as `A2a`):",
        f"{zh['kept']} Chinese and {en['kept']} English terms. That is far below the clause 8.1 minima",
        "(>= 10,000 terms; >= 200 for each A.1 risk, >= 100 for each A.2 risk): its `A1f` count alone",
        "passes 200, which says nothing about covering the violence half of `A1f`, and the other 30",
        "risks are untouched. It is never a substitute for the filer's own keyword library, which must",
        "cover all 31 risks and be kept up to date. `corpus-kit safety lexicon-check` accepts the files",
        "and, with `--strict`, exits 1 and reports the shortfall.",
        "",
        "## Attribution",
        "",
        "- **Title:** List of Dirty, Naughty, Obscene, and Otherwise Bad Words (`zh` and `en` lists).",
        f"- **Source:** the npm package [`{PACKAGE}` {VERSION}]({NPM_PAGE}), the npm release of",
        f"  [LDNOOBW/List-of-Dirty-Naughty-Obscene-and-Otherwise-Bad-Words]({UPSTREAM}).",
        f"  Tarball sha256 `{TARBALL_SHA256}`",
        f"  (npm integrity `{TARBALL_INTEGRITY}`).",
        f"- **Copyright:** {COPYRIGHT} (as stated in the package's README).",
        f"- **Licence:** [Creative Commons Attribution 4.0 International (CC BY 4.0)]({LICENCE_URL}).",
        "  The licence text, as shipped in the package, is in [`LICENSE`](LICENSE). No endorsement by",
        "  Shutterstock or the LDNOOBW contributors is implied.",
        "- **Changes (this pack is an adaptation):** converted to corpus-kit lexicon YAML; terms left out",
        "  (listed below with the reason); every term given risk `A1f` (ethnic slurs: `A2a`) and",
        "  severity `flag`; allow contexts added to some terms (listed below); terms that are the same",
        "  once normalised kept once. The other languages of the package are not included.",
        "",
        "Suggested attribution when you redistribute data or files made with the pack:",
        "",
        f"> Contains a modified version of the LDNOOBW word lists ({PACKAGE} {VERSION}), {COPYRIGHT},",
        f"> licensed under CC BY 4.0 ({LICENCE_URL}); modified by corpus-kit (terms removed, risk",
        "> codes, severities and allow contexts added).",
        "",
        "## Use",
        "",
        "```bash",
        f"corpus-kit safety lexicon-check {PACK}/zh.yaml {PACK}/en.yaml",
        "corpus-kit safety INPUT -o OUT --action flag \\",
        f"  --lexicon lexicons/your-library.yaml,{PACK}/zh.yaml,{PACK}/en.yaml",
        "```",
        "",
        f"Pipeline step: `- safety: {{lexicon: [lexicons/your-library.yaml, {PACK}/zh.yaml,",
        f"{PACK}/en.yaml], action: drop}}`. The manifest records each file's name,",
        f"version (`{PACK_VERSION}`), date and sha256. Keep this README and `LICENSE` with the files",
        "when you copy them (CC BY 4.0 asks for the attribution and the licence to travel with them).",
        "",
        "## Design decisions",
        "",
        "- **Risk code.** The lists were made to keep offensive words out of search suggestions; they",
        "  hold profanity, sexual terms and insults, which Annex A files under `A1f` (宣扬暴力、淫秽色情).",
        "  The English racial and ethnic slurs are mapped to `A2a` (民族歧视内容) instead, so that a drop",
        "  reason names the right risk. The Chinese list holds no such slur. The slurs:",
        *textwrap.wrap(slurs, width=96, initial_indent="  ", subsequent_indent="  "),
        "- **Severity `flag`.** Profanity is not necessarily harmful content (quoted speech, fiction,",
        "  news, medicine), and keyword hits carry no context: a flagged record is kept and marked,",
        "  which feeds the per-source share and the manual review. To drop records on these terms,",
        "  copy the file and change `severity: flag` to `block` (then it is your adaptation: keep the",
        "  attribution).",
        "- **Left out rather than allowed.** An allow context suppresses a hit only *inside* that context.",
        "  A single character such as `性` sits in hundreds of everyday words (性别, 性能, 可能性, 女性,",
        "  安全性...), so no allow list can be complete: such terms are left out. The same goes for",
        "  clinical and anatomical words (health and sex-education text must pass), for words whose main",
        "  sense is harmless (`成人`, `激情`, `祖宗`), and for strings that span a word boundary with an",
        "  open-ended set of continuations (`教务处`+`女老师` holds `处女`, `出口`+`交货` holds `口交`).",
        "- **Allow contexts** are kept for terms whose harmless uses are few and known (`妈的` in `我妈的`,",
        "  `孕妈的`; `色情` in `角色情感`; `杂种` in `杂种优势`). Chinese terms match anywhere; Latin terms",
        "  match whole words only (`ass` does not hit `class`).",
        "- **Measured.** The tests (`tests/test_safety_packs.py`) screen more than 200 everyday Chinese",
        "  sentences (health, education, finance, transport, government, family life) and the bundled",
        "  demo sample with both files: zero hits. Known residue: possessive `你妈的`/`她妈的` in colloquial",
        "  speech, and topic words (`卖淫`, `嫖娼`, `强奸`, `淫秽`, `色情`) in law-enforcement news.",
        "",
        "## Counts",
        "",
        "| list | upstream entries | kept | left out | same once normalised (kept once) "
        "| with allow contexts |",
        "|---|---|---|---|---|---|",
    ]
    for language in ("zh", "en"):
        s = stats[language]
        row = (language, s["upstream"], s["kept"], s["left_out"], s["repeated"], s["allowed"])
        text.append("| " + " | ".join(str(cell) for cell in row) + " |")
    text.append("")
    for language in ("zh", "en"):
        if stats[language]["repeated_terms"]:
            shown = ", ".join(f"`{term}`" for term in stats[language]["repeated_terms"])
            text += [f"Kept once ({language}; the same as an earlier entry once normalised): {shown}.", ""]
    for language in ("zh", "en"):
        text += left_out_section(language)
        text += allow_section(language)
    text += [
        "## Regenerating",
        "",
        "```bash",
        "python scripts/make_ldnoobw_pack.py                     # npm pack, check, write",
        "python scripts/make_ldnoobw_pack.py --from DIR --check   # compare with the files in place",
        "```",
        "",
        "The script checks the package's name, version and licence (`package.json`) and the sha256 of",
        "the tarball and of every file it reads before it writes anything.",
        "",
    ]
    return "\n".join(text)


def build(package: dict[str, bytes], updated: date) -> dict[str, bytes]:
    """The pack's files, name -> bytes (each lexicon loaded back with corpus-kit's loader)."""
    from corpus_kit.stages.safety.lexicon import load_lexicon

    outputs: dict[str, bytes] = {}
    stats: dict[str, dict] = {}
    for language in LANGUAGES:
        upstream = json.loads(package[f"{language}.json"])
        if not isinstance(upstream, list) or not all(isinstance(term, str) for term in upstream):
            raise PackError(f"{language}.json: expected a list of strings")
        entries, repeated = curate(language, upstream)
        content = lexicon_yaml(language, entries, updated)
        with tempfile.TemporaryDirectory() as scratch:
            path = Path(scratch) / f"{language}.yaml"
            path.write_text(content, encoding="utf-8")
            lexicon = load_lexicon(path)
        if len(lexicon.terms) != len(entries) or lexicon.duplicates:
            raise PackError(
                f"{language}: the loader reads {len(lexicon.terms)} terms for {len(entries)} entries"
            )
        left_out = sum(len(group) for group in LANGUAGES[language][1].values())
        stats[language] = {
            "upstream": len(upstream),
            "kept": len(entries),
            "left_out": left_out,
            "repeated": len(repeated),
            "repeated_terms": repeated,
            "allowed": sum(1 for entry in entries if entry["allow"]),
        }
        if left_out + len(repeated) + len(entries) != len(upstream):
            raise PackError(f"{language}: the counts do not add up")
        outputs[f"{language}.yaml"] = content.encode("utf-8")
    outputs["LICENSE"] = package["LICENSE"]
    outputs["README.md"] = readme(stats).encode("utf-8")
    return outputs


def committed_date(folder: Path) -> date | None:
    try:
        text = (folder / "zh.yaml").read_text(encoding="utf-8")
    except OSError:
        return None
    match = re.search(r"^updated: (\d{4}-\d{2}-\d{2})$", text, re.MULTILINE)
    return date.fromisoformat(match.group(1)) if match else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--from", dest="source", type=Path, help="an unpacked package folder or its .tgz")
    parser.add_argument("-o", "--output", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--updated", type=date.fromisoformat, help="the lexicons' date (default: today)")
    parser.add_argument("--check", action="store_true", help="compare with the files in place; write nothing")
    args = parser.parse_args(argv)
    try:
        with tempfile.TemporaryDirectory() as scratch:
            folder = Path(scratch)
            if args.source is None:
                source = unpack(npm_pack(folder), folder)
            elif args.source.is_file():
                source = unpack(args.source, folder)
            else:
                source = args.source
            package = read_package(source)
        updated = args.updated or (committed_date(args.output) if args.check else None) or date.today()
        outputs = build(package, updated)
    except PackError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    if args.check:
        differ = [name for name, data in outputs.items() if _read(args.output / name) != data]
        for name in differ:
            print(f"differs: {args.output / name}", file=sys.stderr)
        if not differ:
            print(f"up to date: {', '.join(outputs)} in {args.output}")
        return 1 if differ else 0
    args.output.mkdir(parents=True, exist_ok=True)
    for name, data in outputs.items():
        (args.output / name).write_bytes(data)
    print(f"wrote {', '.join(outputs)} to {args.output}")
    return 0


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except OSError:
        return None


if __name__ == "__main__":
    sys.exit(main())
