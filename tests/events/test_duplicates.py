"""Similarity of short Chinese reports, as used for duplicate detection."""

from app.events.duplicates import SIMILARITY_THRESHOLD, similarity


def test_differently_worded_reports_of_one_thing_are_similar():
    pairs = [
        ("供水管破了，水一直往外冒", "路边水管爆了一直冒水"),
        ("民生路小区门口井盖不见了", "小区门口的井盖没得了，好危险"),
        ("3栋楼道有人给电动车充电", "三栋楼道里电动车在充电，飞线"),
    ]
    for a, b in pairs:
        assert similarity(a, b) >= SIMILARITY_THRESHOLD, (a, b)


def test_unrelated_reports_are_not():
    pairs = [
        ("供水管破了，水一直往外冒", "路灯不亮好几天了"),
        ("小区门口井盖不见了", "菜市场门口有人乱摆摊"),
        ("楼上漏水，邻居吵起来了", "山上有石头往下掉"),
    ]
    for a, b in pairs:
        assert similarity(a, b) < SIMILARITY_THRESHOLD, (a, b)
