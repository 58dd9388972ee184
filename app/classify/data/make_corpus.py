"""Regenerate corpus.jsonl from the hand-written seed reports in seeds/*.txt, byte-identically.

Usage (from the repository root): .venv/bin/python app/classify/data/make_corpus.py [--check]

Seed files, one per top category, hold sections headed [SUBCATEGORY_CODE] with two kinds of
hand-written line:

    + text   a seed report: written once, then re-phrased into several variants (other places
             and times, prefixes and suffixes of the three registers, Chongqing dialect swaps,
             typos and homophone errors, dropped or half-width punctuation, particles); the
             seed and all its variants share one `group`, so the held-out split (by group)
             never puts a variant of a training seed in the test set
    - text   a standalone report: kept as written (its slots filled once, sometimes a light
             typo or punctuation change) and its own group

Slots such as {xq} (housing estate) or {lu} (road) are filled from the lists below. Every
random choice comes from a generator seeded with SEED and the group id, so editing one seed
changes only that seed's lines. --check exits 1 when corpus.jsonl is stale.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
SEEDS_DIR = HERE / "seeds"
OUT = HERE / "corpus.jsonl"
SEED = 20260521

# Lines per subcategory to aim for; the common incidents (by volume in grid-platform practice)
# get more so the class priors lean the way real report streams do.
DEFAULT_TARGET = 48
COMMON_TARGET = 72
COMMON = {
    "DISPUTE_NEIGHBOR",
    "DISPUTE_PROPERTY_MGMT",
    "SAFETY_FIRE_ACCESS",
    "SAFETY_EBIKE_CHARGING",
    "GEOHAZARD_LANDSLIDE",
    "GEOHAZARD_ROCKFALL",
    "SANITATION_EXPOSED_GARBAGE",
    "SANITATION_STREET_VENDING",
    "SANITATION_ILLEGAL_ADS",
    "MUNICIPAL_MANHOLE",
    "MUNICIPAL_STREETLIGHT",
    "MUNICIPAL_ROAD_DAMAGE",
    "MUNICIPAL_WATER_PIPE",
    "MUNICIPAL_DRAIN",
    "ECOLOGY_NOISE",
    "TRAFFIC_PARKING",
    "LIVELIHOOD_ELDERLY_ALONE",
}
MAX_VARIANTS = 12

# fmt: off
SLOTS: dict[str, list[str]] = {
    "xq": [
        "华宇锦绣花城", "金科天籁城", "龙湖新壹城", "融汇半岛", "鲁能星城", "万科城", "渝能国际",
        "协信星光", "大坪正街小区", "石油路宿舍", "建新东路小区", "天奇花园", "金港新区",
        "翠湖山庄", "东原香山", "海兴家园", "和平新村", "电力宿舍", "纺织厂宿舍", "幸福家园",
        "桂花园小区", "黄桷苑", "山水雅居", "嘉州新村", "渝州新城", "红岩村小区", "江南丽苑",
        "融侨半岛", "阳光100小区", "恒大御景半岛", "还建房小区", "冶金村", "大石坝二村",
        "马家堡小区", "新村15号院", "教师宿舍", "长安厂家属区", "玉带山小区", "龙溪花园", "金竹苑",
    ],
    "sq": [
        "民生路社区", "新华路社区", "石油路社区", "大坪正街社区", "渝州路社区", "石桥铺社区",
        "南坪东路社区", "花园路社区", "观音桥社区", "建新东路社区", "双碑社区", "磁器口社区",
        "天星桥社区", "杨家坪社区", "嘉州路社区", "鱼洞社区", "龙头寺社区", "七星岗社区",
        "上清寺社区", "两路口社区", "黄桷坪社区", "北温泉社区",
    ],
    "jd": [
        "解放碑街道", "大坪街道", "石桥铺街道", "观音桥街道", "南坪街道", "杨家坪街道",
        "龙头寺街道", "鱼洞街道", "北温泉街道", "人和街道", "礼嘉街道", "悦来街道", "歇马镇",
        "青木关镇", "西彭镇", "木洞镇", "界石镇", "走马镇", "龙兴镇", "蔡家岗街道",
    ],
    "lu": [
        "民族路", "中山四路", "建新北路", "渝州路", "石杨路", "大石路", "南坪正街", "江北城大街",
        "红旗河沟", "五一路", "沙正街", "学府大道", "龙湖路", "嘉陵路", "长江一路", "黄泥磅",
        "金开大道", "新牌坊三路", "渝鲁大道", "西郊路", "杨家坪正街", "天星桥正街", "小龙坎正街",
        "歇台子", "谢家湾正街", "九龙街", "鹅岭正街", "较场口", "南滨路", "北城天街",
        "新华路", "解放西路", "童家院子", "松牌路", "龙山路", "白市驿老街", "场镇正街",
    ],
    "cun": [
        "龙凤村", "石坝村", "桂花村", "青杠村", "白鹤村", "长坪村", "大湾村", "庙坝村", "黄桷村",
        "双河村", "新店村", "天星村", "石龙村", "金竹村", "柏树村", "河嘴村", "高峰村", "梨子村",
        "沙坪村", "凉水井村", "塘坝村", "红岩村", "观音岩村", "和平村",
    ],
    "zu": ["1组", "2社", "3组", "4社", "5组", "6社", "7组", "八组", "二社", "十一组", "三社"],
    "dong": [
        "3栋2单元", "12号楼1单元", "5栋", "7栋1单元", "2号楼", "18栋3单元", "A栋", "B座", "9幢",
        "11栋2单元", "6栋", "1单元", "4栋1单元", "23号楼", "15栋2单元",
    ],
    "t": [
        "今天早上", "昨天晚上", "今早7点左右", "昨晚11点多", "凌晨2点", "中午12点", "下午三点左右",
        "刚才", "这几天", "一连几天了", "周末", "今天下午", "晚上十点以后", "上午9点多", "前天",
        "这两天", "上个星期", "今天一早", "傍晚六点过",
    ],
    "zhan": [
        "较场口站", "小什字站", "牛角沱站", "两路口站", "大坪站", "石桥铺站", "杨家坪站",
        "观音桥站", "红旗河沟站", "沙坪坝站", "南坪站", "鹅岭站", "李子坝站", "礼嘉站", "鱼洞站",
        "光电园站", "大学城站", "重庆北站", "冉家坝站",
    ],
    "shichang": [
        "大坪菜市场", "石油路农贸市场", "观音桥菜市场", "杨家坪农贸市场", "鱼洞菜市场",
        "场镇农贸市场", "新华路菜市场", "菜园坝批发市场", "盘溪市场", "双碑菜市场",
    ],
    "xing": [
        "王嬢嬢", "李大爷", "张师傅", "刘婆婆", "陈姐", "赵老师", "周大哥", "黄孃孃", "杨老汉儿",
        "吴大妈", "罗叔叔", "何婆婆", "谢大爷", "邓阿姨", "冉大姐",
    ],
}

PREFIXES: dict[str, list[str]] = {
    "worker": [
        "网格员巡查发现：", "巡查发现", "【网格巡查】", "今日走访发现，", "例行巡查时发现，",
        "网格员上报：", "【自查】", "日常巡查，", "入户走访了解到，", "排查发现：",
        "{sq}网格员报：", "网格{n}号上报：", "【{sq}】", "巡查到{xq}附近，", "【{jd}】",
    ],
    "resident": [
        "你好，", "您好，我要反映个事情，", "我是{xq}的住户，", "师傅，", "喂，", "投诉：",
        "反映个情况，", "有个事想反映一下，", "麻烦你们管一下，", "求助！", "居民反映：",
        "我住{xq}，", "你们管不管嘛，",
    ],
    "formal": [
        "据群众反映，", "接群众来电反映，", "12345转办：", "接上级转办件：", "居民来电称，",
        "据{sq}网格员报告，", "接市民投诉，", "经网格员现场核实，", "群众微信留言：",
    ],
    "time": ["{t}，", "{t}"],
}
SUFFIXES = [
    "，请尽快处理", "，请相关部门处理", "，麻烦派人来看一下", "，望尽快解决", "，谢谢", "。",
    "！", "！！", "，已拍照", "，现场照片已上传", "，已告知物业", "，已告知社区",
    "，好几天了都没人管", "，希望有人管一下", "，再不管要出事", "，请协调处理", "，急",
    "，已电话联系相关人员", "，请指挥中心派单", "，图片见附件", "。地址：{xq}{dong}",
    "，位置在{lu}附近", "，在{zhan}旁边", "，{t}发现的", "，麻烦了", "，拜托了", "，请回复",
    "，已经反映过好几次了", "。请核实", "，附近居民意见很大", "，请派人核查", "。。。",
]
PARTICLES = ["哦", "哈", "噻", "嘛", "哟", "咯", "喔", "啊", "了哈"]

# Chongqing usage for standard forms (regexes); each swap applies with some probability, so a
# variant can mix registers the way real reports do.
DIALECT: list[tuple[str, list[str]]] = [
    ("没有", ["莫得", "没得"]),
    ("什么", ["啥子"]),
    ("怎么办", ["咋个办", "咋整"]),
    ("怎么", ["咋个"]),
    ("孩子", ["娃儿"]),
    ("小孩", ["娃儿", "小娃儿"]),
    ("爸爸", ["老汉儿"]),
    ("父亲", ["老汉儿"]),
    ("非常", ["硬是", "好"]),
    ("很多", ["好多"]),
    ("很大", ["好大", "大得很"]),
    ("很危险", ["好危险", "危险得很"]),
    ("很快", ["好快"]),
    ("很高", ["好高"]),
    ("(?<=[看管说问查弄])一下", ["一哈", "一下下"]),
    ("这里", ["这点", "这儿"]),
    ("那里", ["那点", "那儿"]),
    ("哪里", ["哪点", "哪儿"]),
    ("知道", ["晓得"]),
    ("堵住了", ["堵起了"]),
    ("堵了", ["堵起了", "堵死了"]),
    ("放着", ["放起"]),
    ("摆着", ["摆起"]),
    ("坏了", ["烂了", "遭了", "出拐了"]),
    ("打架", ["打捶", "打锤"]),
    ("吵架", ["扯皮", "吵嘴"]),
    ("扔", ["甩", "丢"]),
    ("玩", ["耍"]),
    ("台阶", ["梯坎", "梯步"]),
    ("摆摊", ["摆摊摊"]),
    ("老太太", ["老太婆", "婆婆"]),
    ("阿姨", ["嬢嬢", "孃孃"]),
    ("晚上", ["夜里", "晚上"]),
    ("今天", ["今儿个"]),
    ("昨天", ["昨儿个"]),
    ("不行", ["不得行"]),
    ("厉害", ["凶", "恼火"]),
    ("石头", ["石包", "石头子"]),
    ("悬崖", ["崖崖"]),
    ("山坡", ["坡坡"]),
    ("一直", ["一天到黑", "一直都"]),
    ("臭得很", ["臭烘烘的", "臭死了"]),
    ("吵得很", ["闹麻了", "吵死人"]),
    ("舒服", ["巴适"]),
    ("出事", ["出拐", "遭"]),
    ("摔倒", ["扑爬", "绊倒"]),
    ("危险", ["吓人"]),
    ("好几天", ["好多天"]),
    ("干什么", ["做啥子"]),
]

# Real misspellings in report streams: homophones and near-homophones typed on a phone's pinyin
# keyboard (one or two per variant).
TYPOS: list[tuple[str, list[str]]] = [
    ("垃圾", ["拉圾", "垃级", "拉级"]), ("井盖", ["井概", "井钙", "景盖"]), ("反映", ["反应"]),
    ("已经", ["以经", "已近"]), ("噪音", ["燥音"]), ("噪声", ["燥声"]), ("占道", ["站道"]),
    ("楼道", ["楼到"]), ("电瓶车", ["电平车", "电瓶车子"]), ("滑坡", ["划坡"]),
    ("裂缝", ["裂逢", "列缝"]), ("堵塞", ["赌塞"]), ("漏水", ["露水"]), ("路灯", ["路等"]),
    ("物业", ["物叶"]), ("赌博", ["堵博"]), ("诈骗", ["炸骗"]), ("燃气", ["燃汽"]),
    ("通道", ["通到"]), ("充电", ["冲电"]), ("漂浮", ["飘浮"]), ("帮扶", ["帮服"]),
    ("低保", ["底保"]), ("留守", ["流守"]), ("违章", ["违障"]), ("搭建", ["达建"]),
    ("过期", ["过其"]), ("塌陷", ["踏陷"]), ("摆摊", ["摆滩"]), ("小广告", ["小光告"]),
    ("乱贴", ["乱帖"]), ("厕所", ["侧所"]), ("可疑", ["可以"]), ("红绿灯", ["红路灯"]),
    ("咨询", ["资询"]), ("建议", ["建意"]), ("表扬", ["表杨"]), ("纠纷", ["纠分"]),
    ("承重墙", ["承重强"]), ("辍学", ["缀学"]), ("停电", ["亭电"]), ("停水", ["亭水"]),
    ("宅基地", ["宅基第"]), ("中毒", ["中读"]), ("保健品", ["保建品"]), ("僵尸车", ["姜尸车"]),
    ("摩的", ["摩滴"]), ("针头", ["针投"]), ("传染", ["传然"]), ("焚烧", ["焚绕"]),
    ("扬尘", ["扬沉"]), ("异味", ["异昧"]), ("消火栓", ["消火拴", "消防拴"]),
    ("灭火器", ["灭火气"]), ("危房", ["危防"]), ("倾斜", ["倾协"]), ("泄漏", ["泄露"]),
    ("麻将", ["麻匠"]), ("拖欠", ["托欠"]), ("调解", ["调节"]), ("矛盾", ["茅盾"]),
    ("邻居", ["临居"]), ("隔壁", ["隔避"]), ("单元", ["单园"]), ("停车", ["亭车"]),
    ("下水道", ["下水到"]), ("树枝", ["树支"]), ("绿化带", ["绿化代"]), ("配电箱", ["配电厢"]),
    ("蟑螂", ["樟螂"]), ("马蜂", ["马峰"]), ("发霉", ["发梅"]), ("医保", ["医报"]),
    ("社保", ["社报"]), ("残疾", ["残急"]), ("招牌", ["招排"]), ("晾晒", ["凉晒"]),
    ("横幅", ["横副"]), ("撒漏", ["洒漏"]), ("人行道", ["人形道"]), ("盲道", ["忙道"]),
    ("梯坎", ["梯砍"]), ("坎", ["砍"]), ("工资", ["工姿"]), ("欠薪", ["欠新"]),
    ("液化气", ["液化汽"]), ("煤气", ["煤汽"]), ("电线", ["电限"]), ("水管", ["水官"]),
    ("老鼠", ["老属"]), ("蚊子", ["文子"]), ("沟", ["勾"]), ("渣土", ["碴土"]),
    ("坡", ["破"]), ("塌", ["踏"]), ("垮", ["挎"]), ("裂", ["列"]),
]
# fmt: on
PUNCT = "，。！？、；：,.!?;:"
CN_DIGITS = dict(zip("23456789", "二三四五六七八九", strict=True))


def parse_seeds(directory: Path = SEEDS_DIR) -> list[tuple[str, str, str]]:
    """(subcategory, kind '+' or '-', text) for every hand-written line, files in name order."""
    rows = []
    for path in sorted(directory.glob("*.txt")):
        code = None
        for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            if line.startswith("[") and line.endswith("]"):
                code = line[1:-1].strip()
                continue
            kind, text = line[:1], line[1:].strip()
            if kind not in "+-" or not text or code is None:
                raise ValueError(f"{path.name}:{number}: expected '+ text' or '- text'")
            rows.append((code, kind, text))
    return rows


def group_id(code: str, kind: str, text: str) -> str:
    """Stable across edits elsewhere: the subcategory plus a hash of the line itself."""
    digest = hashlib.sha1(f"{code}\x1f{text}".encode()).hexdigest()[:10]
    return f"{code}.{'s' if kind == '+' else 'a'}{digest}"


def fill(text: str, rng: random.Random) -> str:
    """Replace {slot}s; two slots of one kind in a text get different values."""
    used: set[str] = set()

    def pick(match: re.Match) -> str:
        name = match.group(1)
        if name == "n":
            return str(rng.randint(2, 9))
        if name == "nn":
            return str(rng.randint(10, 60))
        choices = [c for c in SLOTS[name] if c not in used] or SLOTS[name]
        value = rng.choice(choices)
        used.add(value)
        return value

    return re.sub(r"\{(\w+)\}", pick, text)


def swap(text: str, table: list[tuple[str, list[str]]], rng: random.Random, p: float) -> str:
    """Apply each applicable replacement (a regex) with probability p, at one occurrence."""
    for pattern, alternatives in table:
        spans = [m.span() for m in re.finditer(pattern, text)]
        if spans and rng.random() < p:
            start, end = rng.choice(spans)
            text = text[:start] + rng.choice(alternatives) + text[end:]
    return text


def typos(text: str, rng: random.Random, count: int) -> str:
    """Introduce up to `count` misspellings from TYPOS."""
    candidates = [entry for entry in TYPOS if entry[0] in text]
    for plain, wrong in rng.sample(candidates, min(count, len(candidates))):
        text = text.replace(plain, rng.choice(wrong), 1)
    return text


def punctuation(text: str, rng: random.Random) -> str:
    """One of: strip punctuation, half-width commas, or an emphatic ending."""
    roll = rng.random()
    if roll < 0.45:
        joiner = rng.choice([" ", "", " "])
        return re.sub(f"[{re.escape(PUNCT)}]+", joiner, text).strip()
    if roll < 0.75:
        return text.replace("，", ",").replace("。", ".").replace("！", "!")
    return text.rstrip(PUNCT) + rng.choice(["！！", "!!!", "。。。", "...", "？", "!"])


def particle(text: str, rng: random.Random) -> str:
    """Put a spoken particle at the end of one clause."""
    clauses = re.split(f"([{re.escape(PUNCT)}])", text)
    spots = [i for i in range(0, len(clauses), 2) if len(clauses[i]) >= 4]
    if not spots:
        return text
    i = rng.choice(spots)
    # "死了" + "了哈" reads as a stutter: after 了 only a bare particle fits.
    choices = (
        [p for p in PARTICLES if not p.startswith("了")] if clauses[i].endswith("了") else PARTICLES
    )
    clauses[i] += rng.choice(choices)
    return "".join(clauses)


def cn_numbers(text: str) -> str:
    """Write small numbers before a measure word in Chinese numerals (3栋 → 三栋)."""
    return re.sub(
        r"(?<!\d)([2-9])(?=[栋号单组社楼点个辆盏处层])", lambda m: CN_DIGITS[m.group(1)], text
    )


def vary(text: str, rng: random.Random) -> str:
    """One re-phrasing of a seed (already filled): register, dialect, typos, punctuation."""
    core = text.rstrip("。")
    if rng.random() < 0.2:
        core = particle(core, rng)
    register = rng.choices(["worker", "resident", "formal", "none"], [3, 3, 2, 2])[0]
    prefix = ""
    if register != "none" and rng.random() < 0.7:
        prefix = rng.choice(PREFIXES[register])
    if rng.random() < 0.2:
        if prefix and rng.random() < 0.5:
            prefix = "{t}，" + prefix
        else:
            prefix += rng.choice(PREFIXES["time"])
    suffix = rng.choice(SUFFIXES) if rng.random() < 0.5 else ""
    body = prefix + core + suffix
    if rng.random() < 0.55:
        body = swap(body, DIALECT, rng, 0.6)
    if rng.random() < 0.3:
        body = typos(body, rng, rng.choice([1, 1, 2]))
    if rng.random() < 0.2:
        body = cn_numbers(body)
    if rng.random() < 0.3:
        body = punctuation(body, rng)
    return fill(body, rng)


def light(text: str, rng: random.Random) -> str:
    """The small changes a standalone line may get: a typo, punctuation, a suffix."""
    roll = rng.random()
    if roll < 0.12:
        return typos(text, rng, 1)
    if roll < 0.24:
        return punctuation(text, rng)
    if roll < 0.32:
        return fill(text.rstrip("。") + rng.choice(SUFFIXES), rng)
    return text


def build(rows: list[tuple[str, str, str]]) -> list[dict[str, str]]:
    """Every corpus line, in seed-file order; exact duplicate texts are kept once."""
    by_code: dict[str, list[tuple[str, str]]] = {}
    for code, kind, text in rows:
        by_code.setdefault(code, []).append((kind, text))
    out: list[dict[str, str]] = []
    seen: set[str] = set()

    def emit(text: str, code: str, group: str) -> bool:
        text = re.sub(r"\s+", " ", text).strip()
        if not text or text in seen:
            return False
        seen.add(text)
        out.append({"text": text, "subcategory": code, "group": group})
        return True

    for code, lines in by_code.items():
        seeds = [t for k, t in lines if k == "+"]
        singles = [t for k, t in lines if k == "-"]
        target = COMMON_TARGET if code in COMMON else DEFAULT_TARGET
        per_seed = min(MAX_VARIANTS, max(3, -(-(target - len(singles)) // max(1, len(seeds)))))
        for kind, text in lines:
            group = group_id(code, kind, text)
            rng = random.Random(f"{SEED}:{group}")
            if kind == "-":
                emit(light(fill(text, rng), rng), code, group)
                continue
            made, tries = 0, 0
            if emit(fill(text, rng), code, group):
                made += 1
            while made < per_seed and tries < per_seed * 6:
                tries += 1
                made += emit(vary(fill(text, rng), rng), code, group)
    return out


def render(lines: list[dict[str, str]]) -> str:
    """The file's exact bytes (as text): one compact JSON object per line."""
    return "".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines)


def check_codes(rows: list[tuple[str, str, str]]) -> None:
    """Every seed section names a taxonomy subcategory and every subcategory has seeds."""
    sys.path.insert(0, str(ROOT))
    from app.classify.taxonomy import load_taxonomy

    codes = set(load_taxonomy().codes)
    used = {code for code, _, _ in rows}
    if used - codes:
        raise SystemExit(f"seed sections not in the taxonomy: {sorted(used - codes)}")
    if codes - used:
        raise SystemExit(f"subcategories without seeds: {sorted(codes - used)}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if corpus.jsonl is stale")
    args = parser.parse_args(argv)
    rows = parse_seeds()
    check_codes(rows)
    text = render(build(rows))
    if args.check:
        current = OUT.read_text(encoding="utf-8") if OUT.exists() else ""
        if current != text:
            print("corpus.jsonl is stale: run app/classify/data/make_corpus.py", file=sys.stderr)
            return 1
        return 0
    OUT.write_text(text, encoding="utf-8")
    print(f"wrote {OUT.relative_to(ROOT)}: {text.count(chr(10))} lines, {len(text.encode())} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
