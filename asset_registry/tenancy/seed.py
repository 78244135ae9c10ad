"""The Jincheng demo tree (晋市政发〔2024〕12号 tasks 五–七: every institution the plan
names, the six county-level people's hospitals among them) and one user per desk."""

from __future__ import annotations

from sqlalchemy import select

from ..enums import OrgKind, Role, Sector
from ..extensions import db
from .models import Membership, Organisation, User

DEMO_PASSWORD = "demo12345"

# code, name, kind, sector, county, parent code
ORGANISATIONS = [
    ("jc", "晋城市设备更新工作专班（市发改委）", OrgKind.CITY, None, "晋城市", None),
    ("wjw", "晋城市卫生健康委员会", OrgKind.BUREAU, Sector.HEALTH, "晋城市", "jc"),
    ("jyj", "晋城市教育局", OrgKind.BUREAU, Sector.EDUCATION, "晋城市", "jc"),
    ("wlj", "晋城市文化和旅游局", OrgKind.BUREAU, Sector.CULTURE_TOURISM, "晋城市", "jc"),
    ("tyj", "晋城市体育局", OrgKind.BUREAU, Sector.SPORTS, "晋城市", "jc"),
    ("scjg", "晋城市市场监督管理局", OrgKind.REGULATOR, None, "晋城市", "jc"),
    ("rmyy", "晋城市人民医院", OrgKind.INSTITUTION, Sector.HEALTH, "城区", "wjw"),
    ("fybjy", "晋城市妇幼保健院", OrgKind.INSTITUTION, Sector.HEALTH, "城区", "wjw"),
    ("dsrmyy", "晋城市第三人民医院", OrgKind.INSTITUTION, Sector.HEALTH, "城区", "wjw"),
    ("rjkf", "晋城荣军康复医院", OrgKind.INSTITUTION, Sector.HEALTH, "泽州县", "wjw"),
    ("gprmyy", "高平市人民医院", OrgKind.INSTITUTION, Sector.HEALTH, "高平市", "wjw"),
    ("yxrmyy", "阳城县人民医院", OrgKind.INSTITUTION, Sector.HEALTH, "阳城县", "wjw"),
    # the other four of the plan's six county-level people's hospitals (task 六)
    ("zzrmyy", "泽州县人民医院", OrgKind.INSTITUTION, Sector.HEALTH, "泽州县", "wjw"),
    ("lcrmyy", "陵川县人民医院", OrgKind.INSTITUTION, Sector.HEALTH, "陵川县", "wjw"),
    ("qsrmyy", "沁水县人民医院", OrgKind.INSTITUTION, Sector.HEALTH, "沁水县", "wjw"),
    ("cqrmyy", "晋城市城区人民医院", OrgKind.INSTITUTION, Sector.HEALTH, "城区", "wjw"),
    ("sxkj", "山西科技学院", OrgKind.INSTITUTION, Sector.EDUCATION, "城区", "jyj"),
    ("zyjs", "晋城职业技术学院", OrgKind.INSTITUTION, Sector.EDUCATION, "城区", "jyj"),
    ("zzxx", "晋城市中等专业学校", OrgKind.INSTITUTION, Sector.EDUCATION, "城区", "jyj"),
    ("jsxy", "晋城技师学院", OrgKind.INSTITUTION, Sector.EDUCATION, "泽州县", "jyj"),
    ("hcxf", "皇城相府景区", OrgKind.INSTITUTION, Sector.CULTURE_TOURISM, "阳城县", "wlj"),
    ("wml", "太行山王莽岭景区", OrgKind.INSTITUTION, Sector.CULTURE_TOURISM, "陵川县", "wlj"),
    ("stxz", "司徒小镇景区", OrgKind.INSTITUTION, Sector.CULTURE_TOURISM, "泽州县", "wlj"),
    ("tyc", "晋城市体育场", OrgKind.INSTITUTION, Sector.SPORTS, "城区", "tyj"),
]

# username, display name, org code, role
USERS = [
    ("admin", "市专班管理员", "jc", Role.CITY_ADMIN),
    ("wjw", "卫健委审核员", "wjw", Role.BUREAU_REVIEWER),
    ("jyj", "教育局审核员", "jyj", Role.BUREAU_REVIEWER),
    ("wlj", "文旅局审核员", "wlj", Role.BUREAU_REVIEWER),
    ("tyj", "体育局审核员", "tyj", Role.BUREAU_REVIEWER),
    ("scjg", "市场监管局特设科", "scjg", Role.REGULATOR),
    ("rmyy", "人民医院设备科", "rmyy", Role.INSTITUTION_MANAGER),
    ("rmyy_xj", "人民医院巡检员", "rmyy", Role.INSTITUTION_STAFF),
    ("sxkj", "科技学院资产处", "sxkj", Role.INSTITUTION_MANAGER),
    ("hcxf", "皇城相府设备部", "hcxf", Role.INSTITUTION_MANAGER),
    ("wml", "王莽岭设备部", "wml", Role.INSTITUTION_MANAGER),
    ("stxz", "司徒小镇设备部", "stxz", Role.INSTITUTION_MANAGER),
    ("tyc", "体育场设备部", "tyc", Role.INSTITUTION_MANAGER),
]


def seed_demo() -> None:
    existing = {o.code: o for o in db.session.scalars(select(Organisation))}
    for code, name, kind, sector, county, parent in ORGANISATIONS:
        org = existing.get(code)
        if org is None:
            org = Organisation(code=code)
            db.session.add(org)
            existing[code] = org
        org.name, org.kind, org.sector, org.county = name, kind, sector, county
        db.session.flush()
        org.parent_id = existing[parent].id if parent else None
    db.session.flush()

    users = {u.username: u for u in db.session.scalars(select(User))}
    for username, display, org_code, role in USERS:
        user = users.get(username)
        if user is None:
            user = User(username=username, display_name=display, email=f"{username}@demo.jc")
            user.set_password(DEMO_PASSWORD)
            db.session.add(user)
            db.session.flush()
        org_id = existing[org_code].id
        membership = db.session.scalars(
            select(Membership).where(
                Membership.user_id == user.id, Membership.org_id == org_id, Membership.role == role
            )
        ).one_or_none()
        if membership is None:
            membership = Membership(user_id=user.id, org_id=org_id, role=role)
            db.session.add(membership)
            db.session.flush()
        if user.active_membership_id is None:
            user.active_membership_id = membership.id
    db.session.flush()
