"""What the demo suppliers sell: per leaf category of the taxonomy, the kinds of product,
their price per unit, the units and packs they are sold in, and the attributes that
describe them. Prices are typical European trade prices in EUR (converted for suppliers
quoting in other currencies); a pack's price is its content times the unit price, so a
box of 100 bolts costs what 100 bolts do.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

DEFAULT_PRODUCTS_PER_SUPPLIER: Final = 450

Attributes = Mapping[str, tuple[str, ...]]
# Approximate exchange rates from EUR for the suppliers' currencies.
RATES: Final[dict[str, float]] = {"EUR": 1.0, "PLN": 4.3, "GBP": 0.86}


@dataclass(frozen=True)
class Pack:
    """A unit of sale: `content` base units of the product (1: the base unit itself)."""

    unit: str
    content: int = 1
    of: str = ""  # what the content counts: "box of 100 pieces"
    name: str = ""  # what the pack is called, when not "<unit> of <content> <of>"

    @property
    def label(self) -> str:
        if self.name:
            return self.name
        return f"{self.unit} of {self.content} {self.of}" if self.content > 1 else self.unit


@dataclass(frozen=True)
class Item:
    noun: str
    price: tuple[float, float]  # EUR per base unit, low and high
    attributes: Attributes | None = None  # instead of the category's
    packs: tuple[Pack, ...] | None = None  # instead of the category's


@dataclass(frozen=True)
class Goods:
    items: tuple[Item, ...]
    attributes: Attributes
    packs: tuple[Pack, ...] = (Pack("piece"),)
    # Minimum order and pack multiple when sold by the base unit; packs are ordered in
    # ones, twos, fives and tens.
    moq: tuple[int, ...] = (1, 2, 5)
    multiple: tuple[int | None, ...] = (None,)


PACK_MOQ: Final = (1, 2, 5, 10)
_FINISH = ("zinc plated", "stainless A2", "stainless A4", "hot-dip galvanised")
_METRIC = ("M6", "M8", "M10", "M12", "M16")
_BRANDS = ("Kraftwerk", "Vulcan", "Ferrum")
_SIZES = ("S", "M", "L", "XL", "XXL")
_SMALL_MOQ = (100, 200, 500, 1000)
_SMALL_MULTIPLE = (None, 50, 100)


def _pieces(unit: str, content: int, of: str = "pieces") -> tuple[Pack, Pack]:
    return Pack("piece"), Pack(unit, content, of)


GOODS: Final[dict[str, Goods]] = {
    # --- industrial supplies -----------------------------------------------------------
    "bolts": Goods(
        (
            Item("Hex bolt", (0.05, 0.9)),
            Item("Carriage bolt", (0.08, 0.7)),
            Item("Flange bolt", (0.08, 1.1)),
        ),
        {"size": _METRIC, "length": ("30 mm", "40 mm", "60 mm", "80 mm"), "finish": _FINISH},
        _pieces("box", 100),
        moq=_SMALL_MOQ,
        multiple=_SMALL_MULTIPLE,
    ),
    "screws": Goods(
        (
            Item("Wood screw", (0.02, 0.15)),
            Item("Machine screw", (0.03, 0.3)),
            Item("Self-drilling screw", (0.04, 0.25)),
        ),
        {"size": ("3.5 x 25 mm", "4 x 40 mm", "5 x 60 mm", "6 x 80 mm"), "finish": _FINISH},
        _pieces("box", 200),
        moq=_SMALL_MOQ,
        multiple=_SMALL_MULTIPLE,
    ),
    "nuts": Goods(
        (
            Item("Hex nut", (0.02, 0.4)),
            Item("Lock nut", (0.04, 0.6)),
            Item("Wing nut", (0.08, 0.8)),
        ),
        {"size": _METRIC, "finish": _FINISH},
        _pieces("box", 100),
        moq=_SMALL_MOQ,
        multiple=_SMALL_MULTIPLE,
    ),
    "washers": Goods(
        (
            Item("Flat washer", (0.01, 0.12)),
            Item("Spring washer", (0.02, 0.15)),
            Item("Fender washer", (0.02, 0.2)),
        ),
        {"size": _METRIC, "finish": _FINISH},
        _pieces("box", 200),
        moq=_SMALL_MOQ,
        multiple=_SMALL_MULTIPLE,
    ),
    "anchors-plugs": Goods(
        (
            Item("Nylon wall plug", (0.02, 0.15), {"diameter": ("6 mm", "8 mm", "10 mm")}),
            Item("Wedge anchor", (0.4, 3.5)),
            Item("Chemical anchor stud", (1.2, 6.0)),
        ),
        {"size": ("M8", "M10", "M12", "M16"), "finish": ("zinc plated", "stainless A4")},
        _pieces("box", 50),
        moq=_SMALL_MOQ,
        multiple=_SMALL_MULTIPLE,
    ),
    "rivets": Goods(
        (Item("Blind rivet", (0.02, 0.12)), Item("Solid rivet", (0.03, 0.2))),
        {
            "diameter": ("3.2 mm", "4.0 mm", "4.8 mm"),
            "material": ("aluminium", "steel", "stainless A2"),
        },
        _pieces("box", 500),
        moq=_SMALL_MOQ,
        multiple=_SMALL_MULTIPLE,
    ),
    "bearings-power-transmission": Goods(
        (
            Item("Deep groove ball bearing", (3.0, 45.0)),
            Item(
                "V-belt",
                (6.0, 40.0),
                {"profile": ("SPZ", "SPA", "SPB"), "length": ("1250 mm", "1800 mm", "2500 mm")},
            ),
            Item(
                "Roller chain",
                (12.0, 60.0),
                {"pitch": ("08B-1", "10B-1", "12B-1")},
                (Pack("m"), Pack("roll", 5, "m")),
            ),
        ),
        {"series": ("6000", "6200", "6300"), "bore": ("10 mm", "20 mm", "35 mm")},
        _pieces("box", 10),
    ),
    "hydraulics-pneumatics": Goods(
        (
            Item(
                "Hydraulic hose",
                (6.0, 30.0),
                {"pressure": ("160 bar", "280 bar", "350 bar"), "size": ("DN6", "DN10", "DN16")},
                (Pack("m"), Pack("roll", 25, "m")),
            ),
            Item("Pneumatic cylinder", (35.0, 260.0)),
            Item(
                "Push-in fitting",
                (1.2, 6.0),
                {"tube": ("6 mm", "8 mm", "10 mm"), "thread": ("G1/8", "G1/4", "G3/8")},
                _pieces("pack", 10),
            ),
        ),
        {"bore": ("32 mm", "50 mm", "63 mm"), "stroke": ("100 mm", "200 mm", "320 mm")},
    ),
    "pipes-valves-fittings": Goods(
        (
            Item("Ball valve", (6.0, 90.0)),
            Item("Pipe elbow", (1.5, 15.0)),
            Item("Compression fitting", (2.0, 18.0)),
        ),
        {"size": ("DN15", "DN25", "DN50"), "material": ("brass", "stainless steel", "PVC-U")},
        _pieces("box", 10),
    ),
    "adhesives-sealants": Goods(
        (
            Item("Epoxy adhesive", (6.0, 35.0), {"volume": ("50 ml", "400 ml")}),
            Item(
                "Silicone sealant",
                (3.0, 12.0),
                {"volume": ("310 ml",), "colour": ("clear", "white", "grey")},
            ),
            Item("Threadlocker", (8.0, 30.0), {"volume": ("10 ml", "50 ml")}),
        ),
        {"cure": ("fast", "standard")},
        _pieces("box", 12),
    ),
    # --- tools ---------------------------------------------------------------------------
    "hand-tools": Goods(
        (
            Item("Combination spanner", (4.0, 25.0), {"size": ("10 mm", "13 mm", "17 mm")}),
            Item(
                "Screwdriver set",
                (15.0, 70.0),
                {"pieces": ("6 pieces", "8 pieces", "12 pieces")},
                (Pack("set"),),
            ),
            Item("Claw hammer", (12.0, 45.0), {"weight": ("450 g", "600 g")}),
        ),
        {"brand": _BRANDS},
    ),
    "power-tools": Goods(
        (
            Item("Cordless drill", (89.0, 320.0), {"voltage": ("12 V", "18 V")}),
            Item("Angle grinder", (59.0, 240.0), {"disc": ("115 mm", "125 mm", "230 mm")}),
            Item("Jigsaw", (69.0, 260.0), {"power": ("650 W", "800 W")}),
        ),
        {"brand": _BRANDS},
    ),
    "measuring-testing": Goods(
        (
            Item("Digital caliper", (18.0, 140.0), {"range": ("150 mm", "200 mm", "300 mm")}),
            Item("Tape measure", (4.0, 25.0), {"length": ("5 m", "8 m", "10 m")}),
            Item("Spirit level", (9.0, 70.0), {"length": ("40 cm", "60 cm", "100 cm")}),
        ),
        {"brand": _BRANDS},
    ),
    "cutting-abrasives": Goods(
        (
            Item(
                "Cutting disc",
                (0.8, 4.0),
                {"diameter": ("115 mm", "125 mm", "230 mm"), "for": ("steel", "stainless")},
            ),
            Item("Sanding belt", (1.0, 5.0), {"size": ("75 x 533 mm", "100 x 610 mm")}),
            Item("Flap disc", (1.5, 6.0), {"diameter": ("115 mm", "125 mm")}),
        ),
        {"grit": ("P40", "P60", "P80", "P120")},
        _pieces("box", 25),
    ),
    # --- electrical ----------------------------------------------------------------------
    "cables-wires": Goods(
        (
            Item("Installation cable", (0.4, 3.5), {"type": ("NYM-J 3x1.5", "NYM-J 5x2.5")}),
            Item("Flexible cord", (0.5, 4.0), {"type": ("H05VV-F 3G1.5", "H07RN-F 3G2.5")}),
            Item("Data cable", (0.3, 2.0), {"category": ("Cat 6", "Cat 6A", "Cat 7")}),
        ),
        {},
        (Pack("m"), Pack("roll", 100, "m")),
        moq=(10, 25, 50),
    ),
    "switches-sockets": Goods(
        (
            Item("Rocker switch", (1.5, 12.0)),
            Item("Socket outlet", (3.0, 25.0)),
            Item("Industrial plug", (6.0, 40.0), {"voltage": ("230 V", "400 V")}),
        ),
        {"rating": ("IP20", "IP44", "IP67"), "colour": ("white", "grey", "black")},
        _pieces("box", 10),
    ),
    "lighting": Goods(
        (
            Item("LED panel", (25.0, 120.0), {"size": ("600 x 600 mm", "1200 x 300 mm")}),
            Item("LED floodlight", (15.0, 180.0), {"power": ("20 W", "50 W", "100 W")}),
            Item("Batten luminaire", (20.0, 90.0), {"length": ("1200 mm", "1500 mm")}),
        ),
        {"colour temperature": ("3000 K", "4000 K", "6500 K"), "rating": ("IP20", "IP65")},
    ),
    "circuit-protection": Goods(
        (
            Item(
                "Circuit breaker",
                (3.0, 35.0),
                {"curve": ("B16", "C16", "C32"), "poles": ("1P", "3P")},
            ),
            Item("RCD", (25.0, 140.0), {"sensitivity": ("30 mA", "300 mA"), "poles": ("2P", "4P")}),
            Item(
                "Fuse link",
                (0.8, 12.0),
                {"rating": ("10 A", "16 A", "63 A"), "size": ("10 x 38", "NH00")},
                _pieces("box", 10),
            ),
        ),
        {"breaking capacity": ("6 kA", "10 kA")},
    ),
    "motors-drives": Goods(
        (
            Item("Three-phase motor", (180.0, 2400.0), {"speed": ("1500 rpm", "3000 rpm")}),
            Item("Frequency inverter", (160.0, 1900.0), {"supply": ("230 V", "400 V")}),
            Item("Gear motor", (240.0, 2600.0), {"ratio": ("10:1", "20:1", "40:1")}),
        ),
        {"power": ("0.75 kW", "2.2 kW", "5.5 kW", "7.5 kW")},
    ),
    "electronic-components": Goods(
        (
            Item("Relay", (3.0, 35.0), {"coil": ("24 V DC", "230 V AC")}),
            Item(
                "Terminal block",
                (0.4, 4.0),
                {"cross-section": ("2.5 mm²", "4 mm²", "6 mm²")},
                _pieces("box", 50),
            ),
            Item("Power supply", (25.0, 320.0), {"output": ("24 V, 2.5 A", "24 V, 10 A")}),
        ),
        {"mounting": ("DIN rail", "panel")},
    ),
    # --- IT hardware ---------------------------------------------------------------------
    "computers-laptops": Goods(
        (
            Item("Business laptop", (690.0, 2100.0), {"screen": ('14"', '15.6"')}),
            Item("Desktop PC", (520.0, 1600.0), {"form": ("tower", "small form factor")}),
            Item("Mini PC", (290.0, 900.0), {"form": ("mini",)}),
        ),
        {"memory": ("16 GB", "32 GB"), "warranty": ("3 years", "5 years")},
    ),
    "networking": Goods(
        (
            Item("Network switch", (60.0, 1400.0), {"ports": ("8 ports", "24 ports", "48 ports")}),
            Item("Wi-Fi access point", (90.0, 450.0), {"standard": ("Wi-Fi 6", "Wi-Fi 6E")}),
            Item(
                "Patch cable",
                (1.5, 12.0),
                {"length": ("1 m", "2 m", "5 m"), "category": ("Cat 6", "Cat 6A")},
                _pieces("pack", 10),
            ),
        ),
        {"warranty": ("2 years", "lifetime")},
    ),
    "servers-storage": Goods(
        (
            Item("Rack server", (1900.0, 9500.0), {"memory": ("64 GB", "128 GB", "256 GB")}),
            Item("NAS", (290.0, 2400.0), {"bays": ("2 bays", "4 bays", "8 bays")}),
            Item("SSD", (45.0, 480.0), {"capacity": ("500 GB", "1 TB", "2 TB", "4 TB")}),
        ),
        {"warranty": ("3 years", "5 years")},
    ),
    "peripherals": Goods(
        (
            Item("Monitor", (120.0, 780.0), {"size": ('24"', '27"', '34"')}),
            Item("Keyboard", (15.0, 120.0), {"layout": ("DE", "FR", "UK", "US")}),
            Item("Docking station", (90.0, 300.0), {"connection": ("USB-C", "Thunderbolt 4")}),
        ),
        {"colour": ("black", "grey", "white")},
    ),
    # --- office supplies -----------------------------------------------------------------
    "paper-products": Goods(
        (
            Item(
                "Copy paper",
                (3.5, 8.0),
                {"format": ("A4", "A3"), "weight": ("80 g/m²", "100 g/m²")},
                (Pack("pack", 1), Pack("box", 5, "packs of 500 sheets")),
            ),
            Item("Notebook", (1.2, 9.0), {"format": ("A4", "A5"), "ruling": ("lined", "squared")}),
            Item(
                "Envelope",
                (0.03, 0.25),
                {"format": ("C4", "C5", "DL"), "closure": ("self-seal", "peel and seal")},
                _pieces("box", 500),
            ),
        ),
        {},
        _pieces("pack", 10),
    ),
    "writing-instruments": Goods(
        (
            Item("Ballpoint pen", (0.3, 3.0)),
            Item("Marker", (0.8, 4.0)),
            Item("Highlighter", (0.6, 2.5), {"colour": ("yellow", "green", "pink")}),
        ),
        {"colour": ("blue", "black", "red")},
        _pieces("box", 50),
    ),
    "office-furniture": Goods(
        (
            Item("Office chair", (120.0, 690.0), {"upholstery": ("fabric", "mesh", "leather")}),
            Item("Desk", (190.0, 890.0), {"size": ("140 x 80 cm", "160 x 80 cm", "180 x 90 cm")}),
            Item("Filing cabinet", (140.0, 520.0), {"drawers": ("3 drawers", "4 drawers")}),
        ),
        {"colour": ("black", "grey", "white", "oak")},
    ),
    "filing-storage": Goods(
        (
            Item("Lever arch file", (1.2, 4.5), {"spine": ("50 mm", "80 mm")}),
            Item("Archive box", (0.9, 4.0), {"spine": ("80 mm", "100 mm")}),
            Item("Document wallet", (0.2, 1.2), {"material": ("card", "PP")}),
        ),
        {"format": ("A4",), "colour": ("blue", "black", "red", "grey")},
        _pieces("box", 10),
    ),
    # --- packaging -----------------------------------------------------------------------
    "boxes-cartons": Goods(
        (
            Item("Corrugated box", (0.3, 3.5), {"wall": ("single wall", "double wall")}),
            Item("Folding carton", (0.1, 1.2), {"board": ("GC1", "GD2")}),
            Item("Shipping box", (0.4, 2.8), {"wall": ("single wall", "double wall")}),
        ),
        {"size": ("300 x 200 x 150 mm", "400 x 300 x 200 mm", "600 x 400 x 400 mm")},
        _pieces("pack", 25),
        moq=(50, 100, 250),
        multiple=(None, 25),
    ),
    "pallets": Goods(
        (
            Item("Euro pallet", (9.0, 24.0), {"material": ("wood",), "grade": ("new", "A")}),
            Item("Plastic pallet", (35.0, 120.0), {"material": ("HDPE", "PP")}),
            Item("Half pallet", (6.0, 15.0), {"material": ("wood",)}),
        ),
        {"load": ("1000 kg", "1500 kg")},
        moq=(10, 20, 50),
    ),
    "films-wraps": Goods(
        (
            Item("Stretch film", (8.0, 28.0), {"thickness": ("17 µm", "23 µm")}),
            Item("Bubble wrap", (15.0, 60.0), {"width": ("500 mm", "1000 mm", "1500 mm")}),
            Item("Shrink film", (20.0, 80.0), {"thickness": ("25 µm", "50 µm")}),
        ),
        {"material": ("PE", "LDPE")},
        (Pack("roll"), Pack("pallet", 40, "rolls")),
    ),
    "bags-sacks": Goods(
        (
            Item("Paper sack", (0.2, 1.2), {"capacity": ("25 kg", "50 kg")}),
            Item("Poly mailer", (0.05, 0.4), {"size": ("250 x 350 mm", "400 x 500 mm")}),
            Item("Woven sack", (0.2, 0.9), {"capacity": ("25 kg", "50 kg")}),
        ),
        {},
        _pieces("pack", 100),
        moq=(100, 250, 500),
        multiple=(None, 50),
    ),
    "labels-tapes": Goods(
        (
            Item("Packing tape", (1.0, 4.0), {"width": ("48 mm", "75 mm"), "material": ("PP",)}),
            Item("Thermal label", (4.0, 18.0), {"size": ("100 x 150 mm", "57 x 32 mm")}),
            Item("Warning tape", (3.0, 12.0), {"colour": ("red/white", "yellow/black")}),
        ),
        {},
        (Pack("roll"), Pack("box", 36, "rolls")),
    ),
    # --- safety and PPE ------------------------------------------------------------------
    "gloves": Goods(
        (
            Item(
                "Nitrile glove",
                (5.0, 16.0),
                {"size": _SIZES[:4], "standard": ("EN ISO 374-5",)},
                (Pack("box"), Pack("carton", 10, "boxes of 100 gloves")),
            ),
            Item("Cut-resistant glove", (3.0, 14.0), {"cut level": ("B", "C", "D", "F")}),
            Item("Leather work glove", (2.5, 12.0), {"lining": ("unlined", "fleece-lined")}),
        ),
        {"size": ("7", "8", "9", "10", "11"), "standard": ("EN 388",)},
        (Pack("pair"), Pack("pack", 12, "pairs")),
    ),
    "eye-face-protection": Goods(
        (
            Item("Safety glasses", (2.5, 18.0), {"lens": ("clear", "tinted", "yellow")}),
            Item("Face shield", (8.0, 45.0), {"visor": ("polycarbonate", "mesh")}),
            Item("Goggles", (5.0, 25.0), {"lens": ("clear", "anti-fog")}),
        ),
        {"standard": ("EN 166",)},
        _pieces("box", 10),
    ),
    "respiratory-protection": Goods(
        (
            Item("FFP2 mask", (0.3, 1.5), packs=_pieces("box", 20)),
            Item("FFP3 mask", (0.8, 3.5), packs=_pieces("box", 10)),
            Item("Half mask", (14.0, 45.0), {"size": ("S", "M", "L"), "standard": ("EN 140",)}),
        ),
        {"valve": ("with valve", "without valve"), "standard": ("EN 149",)},
    ),
    "workwear": Goods(
        (
            Item("Work jacket", (35.0, 140.0), {"colour": ("navy", "black", "olive")}),
            Item(
                "Hi-vis vest",
                (2.5, 12.0),
                {"colour": ("yellow", "orange"), "standard": ("EN ISO 20471 class 2",)},
            ),
            Item("Work trousers", (25.0, 95.0), {"colour": ("navy", "black", "grey")}),
        ),
        {"size": _SIZES, "standard": ("EN ISO 13688",)},
    ),
    "safety-footwear": Goods(
        (
            Item("Safety shoe S3", (45.0, 140.0)),
            Item("Safety boot S3", (55.0, 170.0)),
            Item("Safety clog", (25.0, 70.0), {"class": ("SB",), "size": ("39", "42", "45")}),
        ),
        {"size": ("39", "41", "43", "45", "47"), "standard": ("EN ISO 20345",)},
        (Pack("pair"),),
    ),
    # --- food and beverage ingredients -----------------------------------------------------
    "sugar-sweeteners": Goods(
        (
            Item("Granulated sugar", (0.7, 1.4)),
            Item(
                "Glucose syrup",
                (1.0, 2.2),
                packs=(Pack("kg"), Pack("piece", 25, "kg", "25 kg canister")),
            ),
            Item("Icing sugar", (1.0, 2.0)),
        ),
        {"grade": ("food grade", "organic")},
        (Pack("kg"), Pack("bag", 25, "kg")),
        moq=(25, 50, 100),
    ),
    "flours-grains": Goods(
        (
            Item("Wheat flour", (0.45, 1.1), {"type": ("type 405", "type 550")}),
            Item("Rye flour", (0.55, 1.3), {"type": ("type 997", "type 1150")}),
            Item("Rolled oats", (0.9, 2.0), {"cut": ("fine", "whole")}),
        ),
        {"grade": ("food grade", "organic")},
        (Pack("kg"), Pack("bag", 25, "kg")),
        moq=(25, 50, 100),
    ),
    "oils-fats": Goods(
        (
            Item(
                "Sunflower oil", (1.3, 3.0), packs=(Pack("l"), Pack("piece", 10, "l", "10 l can"))
            ),
            Item("Rapeseed oil", (1.2, 2.8), packs=(Pack("l"), Pack("piece", 10, "l", "10 l can"))),
            Item("Palm-free shortening", (2.5, 5.0), packs=(Pack("kg"), Pack("box", 10, "kg"))),
        ),
        {"grade": ("refined", "cold pressed")},
        moq=(10, 20, 50),
    ),
    "additives-flavours": Goods(
        (
            Item("Citric acid", (1.5, 4.0), {"form": ("anhydrous", "monohydrate")}),
            Item("Vanilla flavour", (18.0, 90.0), {"form": ("liquid",)}, (Pack("l"),)),
            Item("Pectin", (12.0, 35.0), {"form": ("powder",)}),
        ),
        {"grade": ("food grade", "organic")},
        (Pack("kg"), Pack("bag", 25, "kg")),
        moq=(1, 5, 25),
    ),
    "coffee-tea": Goods(
        (
            Item("Espresso beans", (12.0, 32.0), {"roast": ("medium", "dark")}),
            Item("Green tea", (15.0, 60.0), {"leaf": ("loose leaf", "sencha")}),
            Item("Filter coffee", (8.0, 22.0), {"grind": ("medium", "coarse")}),
        ),
        {"grade": ("Fairtrade", "organic")},
        (Pack("kg"), Pack("box", 6, "kg")),
        moq=(1, 6, 12),
    ),
    # --- chemicals -----------------------------------------------------------------------
    "industrial-chemicals": Goods(
        (
            Item("Sodium hydroxide", (0.6, 2.0), {"form": ("pearls", "50 % solution")}),
            Item("Hydrochloric acid", (0.5, 1.8), {"concentration": ("33 %", "37 %")}),
            Item("Sodium carbonate", (0.4, 1.2), {"form": ("dense", "light")}),
        ),
        {"purity": ("technical", "99 %")},
        (Pack("kg"), Pack("bag", 25, "kg")),
        moq=(25, 50, 200),
    ),
    "solvents": Goods(
        (
            Item("Isopropyl alcohol", (2.0, 6.0)),
            Item("Acetone", (1.8, 5.0)),
            Item("Ethanol", (2.5, 7.0), {"denatured": ("denatured", "undenatured")}),
        ),
        {"purity": ("99 %", "99.9 %")},
        (Pack("l"), Pack("piece", 25, "l", "25 l drum")),
        moq=(5, 25, 50),
    ),
    "cleaning-chemicals": Goods(
        (
            Item("Degreaser", (2.5, 9.0)),
            Item("Floor cleaner", (1.5, 6.0)),
            Item("Disinfectant", (3.0, 12.0), {"standard": ("EN 1276", "EN 14476")}),
        ),
        {"scent": ("unscented", "citrus")},
        (Pack("l"), Pack("piece", 10, "l", "10 l canister")),
        moq=(5, 10, 20),
    ),
    "lubricants": Goods(
        (
            Item("Multipurpose grease", (6.0, 20.0), {"grade": ("NLGI 2",)}, (Pack("kg"),)),
            Item("Hydraulic oil", (2.5, 7.0), {"viscosity": ("ISO VG 32", "ISO VG 46")}),
            Item("Chain spray", (5.0, 15.0), {"volume": ("400 ml",)}, _pieces("box", 12, "cans")),
        ),
        {"base": ("mineral", "synthetic")},
        (Pack("l"), Pack("piece", 20, "l", "20 l drum")),
        moq=(1, 5, 20),
    ),
    "paints-coatings": Goods(
        (
            Item("Primer", (6.0, 20.0)),
            Item("Enamel paint", (9.0, 28.0), {"colour": ("RAL 9010", "RAL 7035", "RAL 5010")}),
            Item("Floor coating", (12.0, 35.0), {"colour": ("RAL 7032", "RAL 7001")}),
        ),
        {"finish": ("matt", "satin", "gloss")},
        (Pack("l"), Pack("piece", 10, "l", "10 l bucket")),
        moq=(1, 5, 10),
    ),
    # --- textiles ------------------------------------------------------------------------
    "fabrics": Goods(
        (
            Item("Cotton twill", (4.0, 14.0), {"weight": ("240 g/m²", "300 g/m²")}),
            Item("Polyester canvas", (3.0, 12.0), {"weight": ("200 g/m²", "400 g/m²")}),
            Item("Linen fabric", (8.0, 24.0), {"weight": ("180 g/m²", "260 g/m²")}),
        ),
        {"width": ("140 cm", "150 cm"), "colour": ("natural", "navy", "black", "olive")},
        (Pack("m"), Pack("roll", 50, "m")),
        moq=(10, 25, 50),
    ),
    "yarns-fibres": Goods(
        (
            Item("Cotton yarn", (6.0, 18.0), {"count": ("Ne 20/1", "Ne 30/1")}),
            Item("Polyester fibre", (1.5, 4.0), {"fineness": ("1.5 dtex", "3.3 dtex")}),
            Item("Wool yarn", (18.0, 45.0), {"count": ("Nm 2/28", "Nm 2/48")}),
        ),
        {"colour": ("raw white", "black", "navy")},
        (Pack("kg"), Pack("box", 20, "kg")),
        moq=(10, 25, 100),
    ),
    "technical-textiles": Goods(
        (
            Item("Geotextile", (0.4, 2.5), {"weight": ("150 g/m²", "300 g/m²")}),
            Item("Filter fabric", (4.0, 18.0), {"material": ("polypropylene", "polyester")}),
            Item("Aramid fabric", (25.0, 70.0), {"weight": ("200 g/m²", "400 g/m²")}),
        ),
        {},
        (Pack("m2"), Pack("roll", 100, "m2")),
        moq=(10, 50, 100),
    ),
    # --- raw materials -------------------------------------------------------------------
    "steel": Goods(
        (
            Item(
                "Steel sheet",
                (1.1, 2.5),
                {"thickness": ("2 mm", "5 mm", "10 mm")},
                (Pack("kg"), Pack("t", 1000, "kg")),
            ),
            Item("Steel round bar", (3.0, 40.0), {"diameter": ("20 mm", "40 mm", "60 mm")}),
            Item("Steel tube", (4.0, 30.0), {"size": ("40 x 3 mm", "60 x 4 mm")}),
        ),
        {"grade": ("S235", "S355")},
        (Pack("m"),),
        moq=(6, 12, 60),
    ),
    "aluminium": Goods(
        (
            Item(
                "Aluminium sheet",
                (3.5, 7.0),
                {"alloy": ("5754", "6082"), "thickness": ("2 mm", "5 mm")},
                (Pack("kg"), Pack("t", 1000, "kg")),
            ),
            Item("Aluminium profile", (3.0, 25.0), {"profile": ("40 x 40 mm", "45 x 90 mm")}),
            Item("Aluminium tube", (4.0, 22.0), {"size": ("30 x 2 mm", "50 x 3 mm")}),
        ),
        {"alloy": ("6060", "6063")},
        (Pack("m"),),
        moq=(6, 12, 60),
    ),
    "copper": Goods(
        (
            Item("Copper tube", (6.0, 25.0), {"size": ("15 x 1 mm", "22 x 1 mm")}),
            Item(
                "Copper sheet",
                (9.0, 15.0),
                {"thickness": ("1 mm", "2 mm")},
                (Pack("kg"), Pack("t", 1000, "kg")),
            ),
            Item("Copper busbar", (20.0, 95.0), {"size": ("30 x 5 mm", "50 x 10 mm")}),
        ),
        {"grade": ("Cu-ETP", "Cu-DHP")},
        (Pack("m"),),
        moq=(5, 10, 50),
    ),
    "plastics-polymers": Goods(
        (
            Item(
                "HDPE granulate",
                (1.1, 2.2),
                {"grade": ("blow moulding", "injection moulding")},
                (Pack("kg"), Pack("t", 1000, "kg")),
            ),
            Item("PVC sheet", (15.0, 120.0), {"thickness": ("3 mm", "5 mm", "10 mm")}),
            Item("Acrylic sheet", (30.0, 200.0), {"thickness": ("3 mm", "5 mm", "8 mm")}),
        ),
        {"size": ("2000 x 1000 mm", "3050 x 2050 mm")},
        (Pack("sheet"),),
        moq=(1, 5, 10),
    ),
    "wood-timber": Goods(
        (
            Item("Plywood sheet", (25.0, 90.0), {"grade": ("birch BB/CP", "poplar")}),
            Item(
                "Construction timber",
                (2.0, 9.0),
                {"grade": ("C24",), "section": ("60 x 120 mm", "80 x 160 mm")},
                (Pack("m"),),
            ),
            Item("OSB board", (12.0, 35.0), {"grade": ("OSB/3",)}),
        ),
        {"thickness": ("12 mm", "18 mm", "22 mm")},
        (Pack("sheet"), Pack("pallet", 40, "sheets")),
        moq=(5, 10, 40),
    ),
    "minerals": Goods(
        (
            Item("Quartz sand", (0.1, 0.4), {"grain": ("0.1-0.5 mm", "0.5-1.0 mm")}),
            Item("Kaolin", (0.3, 0.9), {"grade": ("ceramic", "paper filler")}),
            Item("Perlite", (0.5, 1.5), {"grain": ("0-1 mm", "2-6 mm")}),
        ),
        {},
        (Pack("kg"), Pack("bag", 25, "kg"), Pack("t", 1000, "kg")),
        moq=(100, 500, 1000),
    ),
    # --- building and construction ---------------------------------------------------------
    "cement-concrete": Goods(
        (
            Item("Portland cement", (6.0, 14.0), {"class": ("CEM I 42.5 R", "CEM II 32.5 R")}),
            Item("Ready-mix mortar", (5.0, 12.0), {"class": ("M5", "M10")}),
            Item(
                "Concrete block",
                (1.5, 4.0),
                {"size": ("440 x 215 x 100 mm", "440 x 215 x 140 mm"), "fire class": ("A1",)},
                (Pack("piece"), Pack("pallet", 60, "pieces")),
            ),
        ),
        {"bag": ("25 kg",)},
        (Pack("bag"), Pack("pallet", 40, "bags of 25 kg")),
        moq=(10, 20, 40),
    ),
    "insulation": Goods(
        (
            Item("Mineral wool roll", (2.5, 9.0), {"fire class": ("A1",)}),
            Item("EPS board", (4.0, 15.0), {"fire class": ("E",)}),
            Item("PIR board", (12.0, 35.0), {"fire class": ("B-s1,d0",)}),
        ),
        {"thickness": ("50 mm", "100 mm", "160 mm")},
        (Pack("m2"),),
        moq=(10, 20, 50),
    ),
    "doors-windows": Goods(
        (
            Item("Fire door", (380.0, 1400.0), {"rating": ("EI2 30", "EI2 60")}),
            Item("PVC window", (180.0, 900.0), {"glazing": ("double", "triple")}),
            Item("Steel door", (220.0, 950.0), {"rating": ("RC2", "RC3")}),
        ),
        {"size": ("900 x 2100 mm", "1000 x 2100 mm", "1200 x 1400 mm")},
    ),
}
