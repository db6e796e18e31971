"""Seed the default B2B category taxonomy (data only).

Three levels at most; slugs are global, paths are the slug path from the root. Staff
change the tree through the API afterwards; downgrading removes only the seeded
categories that nothing else hangs from.

Revision ID: 0012_seed_categories
Revises: 0011_catalog_search
Create Date: 2026-11-25 23:35:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012_seed_categories"
down_revision: str | None = "0011_catalog_search"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (slug, name, children) in display order.
Tree = list[tuple[str, str, "Tree"]]

TAXONOMY: Tree = [
    (
        "industrial-supplies",
        "Industrial supplies",
        [
            (
                "fasteners",
                "Fasteners",
                [
                    ("bolts", "Bolts", []),
                    ("screws", "Screws", []),
                    ("nuts", "Nuts", []),
                    ("washers", "Washers", []),
                    ("anchors-plugs", "Anchors & plugs", []),
                    ("rivets", "Rivets", []),
                ],
            ),
            ("bearings-power-transmission", "Bearings & power transmission", []),
            ("hydraulics-pneumatics", "Hydraulics & pneumatics", []),
            ("pipes-valves-fittings", "Pipes, valves & fittings", []),
            ("adhesives-sealants", "Adhesives & sealants", []),
        ],
    ),
    (
        "tools",
        "Tools",
        [
            ("hand-tools", "Hand tools", []),
            ("power-tools", "Power tools", []),
            ("measuring-testing", "Measuring & testing", []),
            ("cutting-abrasives", "Cutting tools & abrasives", []),
        ],
    ),
    (
        "electrical",
        "Electrical",
        [
            ("cables-wires", "Cables & wires", []),
            ("switches-sockets", "Switches & sockets", []),
            ("lighting", "Lighting", []),
            ("circuit-protection", "Circuit protection", []),
            ("motors-drives", "Motors & drives", []),
            ("electronic-components", "Electronic components", []),
        ],
    ),
    (
        "it-hardware",
        "IT hardware",
        [
            ("computers-laptops", "Computers & laptops", []),
            ("networking", "Networking", []),
            ("servers-storage", "Servers & storage", []),
            ("peripherals", "Peripherals", []),
        ],
    ),
    (
        "office-supplies",
        "Office supplies",
        [
            ("paper-products", "Paper products", []),
            ("writing-instruments", "Writing instruments", []),
            ("office-furniture", "Office furniture", []),
            ("filing-storage", "Filing & storage", []),
        ],
    ),
    (
        "packaging",
        "Packaging",
        [
            ("boxes-cartons", "Boxes & cartons", []),
            ("pallets", "Pallets", []),
            ("films-wraps", "Films & wraps", []),
            ("bags-sacks", "Bags & sacks", []),
            ("labels-tapes", "Labels & tapes", []),
        ],
    ),
    (
        "safety-ppe",
        "Safety & PPE",
        [
            ("gloves", "Gloves", []),
            ("eye-face-protection", "Eye & face protection", []),
            ("respiratory-protection", "Respiratory protection", []),
            ("workwear", "Workwear", []),
            ("safety-footwear", "Safety footwear", []),
        ],
    ),
    (
        "food-beverage-ingredients",
        "Food & beverage ingredients",
        [
            ("sugar-sweeteners", "Sugar & sweeteners", []),
            ("flours-grains", "Flours & grains", []),
            ("oils-fats", "Oils & fats", []),
            ("additives-flavours", "Additives & flavours", []),
            ("coffee-tea", "Coffee & tea", []),
        ],
    ),
    (
        "chemicals",
        "Chemicals",
        [
            ("industrial-chemicals", "Industrial chemicals", []),
            ("solvents", "Solvents", []),
            ("cleaning-chemicals", "Cleaning chemicals", []),
            ("lubricants", "Lubricants & oils", []),
            ("paints-coatings", "Paints & coatings", []),
        ],
    ),
    (
        "textiles",
        "Textiles",
        [
            ("fabrics", "Fabrics", []),
            ("yarns-fibres", "Yarns & fibres", []),
            ("technical-textiles", "Technical textiles", []),
        ],
    ),
    (
        "raw-materials",
        "Raw materials",
        [
            (
                "metals",
                "Metals",
                [
                    ("steel", "Steel", []),
                    ("aluminium", "Aluminium", []),
                    ("copper", "Copper", []),
                ],
            ),
            ("plastics-polymers", "Plastics & polymers", []),
            ("wood-timber", "Wood & timber", []),
            ("minerals", "Minerals", []),
        ],
    ),
    (
        "building-construction",
        "Building & construction",
        [
            ("cement-concrete", "Cement & concrete", []),
            ("insulation", "Insulation", []),
            ("doors-windows", "Doors & windows", []),
        ],
    ),
]

categories = sa.table(
    "categories",
    sa.column("id", sa.Uuid()),
    sa.column("slug", sa.String()),
    sa.column("name", sa.String()),
    sa.column("parent_id", sa.Uuid()),
    sa.column("position", sa.Integer()),
    sa.column("path", sa.String()),
)


def _rows(
    tree: Tree, parent_slug: str | None = None, parent_path: str = ""
) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    for position, (slug, name, children) in enumerate(tree):
        path = f"{parent_path}/{slug}" if parent_path else slug
        rows.append(
            {
                "slug": slug,
                "name": name,
                "parent_slug": parent_slug,
                "position": position,
                "path": path,
            }
        )
        rows.extend(_rows(children, slug, path))
    return rows


def upgrade() -> None:
    connection = op.get_bind()
    # Parents before children (the list is depth-first), parents found by slug; a slug
    # that already exists (added by staff before this ran) is left as it is.
    for row in _rows(TAXONOMY):
        connection.execute(
            sa.text(
                "INSERT INTO categories (slug, name, parent_id, position, path) "
                "SELECT :slug, :name, (SELECT id FROM categories WHERE slug = :parent_slug), "
                ":position, :path "
                "ON CONFLICT DO NOTHING"
            ),
            row,
        )


def downgrade() -> None:
    connection = op.get_bind()
    # Deepest first; a seeded category that staff hung their own categories from stays.
    for row in sorted(_rows(TAXONOMY), key=lambda row: -str(row["path"]).count("/")):
        connection.execute(
            sa.text(
                "DELETE FROM categories c WHERE c.slug = :slug AND c.path = :path "
                "AND NOT EXISTS (SELECT 1 FROM categories child WHERE child.parent_id = c.id)"
            ),
            {"slug": row["slug"], "path": row["path"]},
        )
