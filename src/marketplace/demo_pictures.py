"""Product pictures for the demo data: a simple drawing of the kind of thing (a bolt, a
glove, a laptop, a sack, ...) above the product's name, drawn locally with Pillow.

Each leaf category of the taxonomy has its drawing (`ICON_OF_LEAF`); the demo renders one
picture per product noun, so a hex bolt and a wing nut look different, and a shopper
recognises the product at thumbnail size.
"""

from __future__ import annotations

import io
import textwrap
from collections.abc import Callable
from typing import TYPE_CHECKING, Final

from PIL import Image

if TYPE_CHECKING:
    from PIL import ImageDraw

SIZE: Final = 640
Colour = tuple[int, int, int]
Draw = Callable[["ImageDraw.ImageDraw", Colour, Colour], None]

# Soft grounds with a darker ink of the same hue.
PALETTE: Final[tuple[tuple[Colour, Colour], ...]] = (
    ((227, 238, 250), (33, 98, 171)),
    ((253, 236, 219), (176, 84, 14)),
    ((228, 245, 231), (35, 117, 60)),
    ((245, 230, 244), (125, 43, 118)),
    ((238, 238, 238), (64, 64, 64)),
    ((255, 246, 210), (150, 110, 0)),
)


def _hexagon(draw: ImageDraw.ImageDraw, centre: tuple[int, int], radius: int, ink: Colour) -> None:
    draw.regular_polygon((*centre, radius), 6, fill=ink)


def bolt(draw: ImageDraw.ImageDraw, ink: Colour, ground: Colour) -> None:
    _hexagon(draw, (320, 110), 70, ink)
    draw.rectangle((290, 150, 350, 400), fill=ink)
    for y in range(180, 400, 22):  # the thread
        draw.line((282, y, 358, y + 10), fill=ground, width=6)


def screw(draw: ImageDraw.ImageDraw, ink: Colour, ground: Colour) -> None:
    draw.ellipse((240, 60, 400, 130), fill=ink)
    draw.line((280, 95, 360, 95), fill=ground, width=10)  # the slot
    draw.polygon([(295, 120), (345, 120), (345, 340), (320, 410), (295, 340)], fill=ink)
    for y in range(150, 350, 24):
        draw.line((285, y, 355, y + 12), fill=ground, width=6)


def nut(draw: ImageDraw.ImageDraw, ink: Colour, ground: Colour) -> None:
    _hexagon(draw, (320, 240), 160, ink)
    draw.ellipse((250, 170, 390, 310), fill=ground)


def washer(draw: ImageDraw.ImageDraw, ink: Colour, ground: Colour) -> None:
    draw.ellipse((160, 80, 480, 400), fill=ink)
    draw.ellipse((265, 185, 375, 295), fill=ground)


def bearing(draw: ImageDraw.ImageDraw, ink: Colour, ground: Colour) -> None:
    draw.ellipse((150, 70, 490, 410), fill=ink)
    draw.ellipse((190, 110, 450, 370), fill=ground)
    for x, y in ((320, 130), (320, 350), (210, 240), (430, 240), (242, 162), (398, 318)):
        draw.ellipse((x - 24, y - 24, x + 24, y + 24), fill=ink)
    draw.ellipse((250, 170, 390, 310), fill=ink)
    draw.ellipse((280, 200, 360, 280), fill=ground)


def cylinder(draw: ImageDraw.ImageDraw, ink: Colour, ground: Colour) -> None:
    draw.rounded_rectangle((100, 180, 420, 300), radius=20, fill=ink)
    draw.rectangle((420, 225, 560, 255), fill=ink)  # the piston rod
    draw.rectangle((130, 160, 160, 180), fill=ink)
    draw.rectangle((360, 160, 390, 180), fill=ink)


def valve(draw: ImageDraw.ImageDraw, ink: Colour, ground: Colour) -> None:
    draw.rectangle((90, 230, 550, 310), fill=ink)  # the pipe
    draw.ellipse((240, 180, 400, 340), fill=ink)
    draw.rectangle((305, 100, 335, 200), fill=ink)
    draw.rounded_rectangle((230, 80, 470, 120), radius=18, fill=ink)  # the lever


def cartridge(draw: ImageDraw.ImageDraw, ink: Colour, ground: Colour) -> None:
    draw.rounded_rectangle((230, 140, 410, 420), radius=16, fill=ink)
    draw.polygon([(290, 140), (350, 140), (330, 50), (310, 50)], fill=ink)  # the nozzle
    draw.rectangle((250, 200, 390, 300), fill=ground)
    draw.rectangle((270, 220, 370, 280), fill=ink)


def spanner(draw: ImageDraw.ImageDraw, ink: Colour, ground: Colour) -> None:
    draw.line((190, 370, 450, 110), fill=ink, width=56)
    draw.ellipse((100, 300, 250, 450), fill=ink)
    draw.ellipse((390, 40, 540, 190), fill=ink)
    draw.polygon([(440, 60), (520, 60), (480, 120)], fill=ground)  # open jaw
    draw.ellipse((145, 345, 205, 405), fill=ground)  # ring


def drill(draw: ImageDraw.ImageDraw, ink: Colour, ground: Colour) -> None:
    draw.rounded_rectangle((120, 110, 440, 220), radius=40, fill=ink)  # the body
    draw.rectangle((440, 145, 500, 185), fill=ink)  # the chuck
    draw.line((500, 165, 590, 165), fill=ink, width=12)  # the bit
    draw.polygon([(220, 220), (320, 220), (300, 380), (200, 380)], fill=ink)  # the grip
    draw.rounded_rectangle((170, 380, 350, 430), radius=12, fill=ink)  # the battery


def ruler(draw: ImageDraw.ImageDraw, ink: Colour, ground: Colour) -> None:
    draw.rectangle((70, 180, 570, 300), fill=ink)
    for index, x in enumerate(range(90, 560, 24)):
        length = 60 if index % 5 == 0 else 30
        draw.line((x, 180, x, 180 + length), fill=ground, width=5)


def disc(draw: ImageDraw.ImageDraw, ink: Colour, ground: Colour) -> None:
    draw.ellipse((130, 50, 510, 430), fill=ink)
    draw.ellipse((290, 210, 350, 270), fill=ground)
    draw.arc((170, 90, 470, 390), 200, 340, fill=ground, width=8)


def cable(draw: ImageDraw.ImageDraw, ink: Colour, ground: Colour) -> None:
    for inset in range(0, 150, 30):  # a coil
        draw.ellipse((140 + inset, 60 + inset, 500 - inset, 420 - inset), outline=ink, width=18)
    draw.line((500, 240, 600, 240), fill=ink, width=18)


def socket(draw: ImageDraw.ImageDraw, ink: Colour, ground: Colour) -> None:
    draw.rounded_rectangle((150, 70, 490, 410), radius=50, fill=ink)
    draw.ellipse((200, 120, 440, 360), fill=ground)
    draw.ellipse((250, 215, 290, 255), fill=ink)
    draw.ellipse((350, 215, 390, 255), fill=ink)


def bulb(draw: ImageDraw.ImageDraw, ink: Colour, ground: Colour) -> None:
    draw.ellipse((190, 40, 450, 300), fill=ink)
    draw.rectangle((260, 280, 380, 360), fill=ink)
    for y in (370, 395):
        draw.rounded_rectangle((265, y, 375, y + 18), radius=8, fill=ink)
    draw.arc((250, 100, 390, 240), 200, 270, fill=ground, width=12)


def breaker(draw: ImageDraw.ImageDraw, ink: Colour, ground: Colour) -> None:
    draw.rounded_rectangle((220, 50, 420, 430), radius=16, fill=ink)
    draw.rectangle((280, 150, 360, 300), fill=ground)
    draw.rectangle((295, 165, 345, 225), fill=ink)  # the toggle, up
    draw.rectangle((250, 80, 390, 110), fill=ground)


def motor(draw: ImageDraw.ImageDraw, ink: Colour, ground: Colour) -> None:
    draw.rounded_rectangle((110, 130, 450, 350), radius=30, fill=ink)
    for y in range(160, 340, 30):  # cooling fins
        draw.line((140, y, 420, y), fill=ground, width=6)
    draw.rectangle((450, 220, 560, 260), fill=ink)  # the shaft
    draw.rectangle((160, 350, 400, 390), fill=ink)  # the feet


def chip(draw: ImageDraw.ImageDraw, ink: Colour, ground: Colour) -> None:
    draw.rectangle((190, 110, 450, 370), fill=ink)
    for offset in range(130, 360, 40):
        draw.rectangle((150, offset, 190, offset + 16), fill=ink)
        draw.rectangle((450, offset, 490, offset + 16), fill=ink)
    draw.ellipse((215, 135, 245, 165), fill=ground)


def laptop(draw: ImageDraw.ImageDraw, ink: Colour, ground: Colour) -> None:
    draw.rounded_rectangle((150, 70, 490, 320), radius=14, fill=ink)
    draw.rectangle((175, 95, 465, 295), fill=ground)
    draw.polygon([(100, 340), (540, 340), (580, 400), (60, 400)], fill=ink)


def network(draw: ImageDraw.ImageDraw, ink: Colour, ground: Colour) -> None:
    draw.rounded_rectangle((70, 170, 570, 320), radius=14, fill=ink)
    for x in range(110, 520, 52):
        draw.rectangle((x, 230, x + 34, 262), fill=ground)
    for x in (200, 440):  # antennas
        draw.line((x, 170, x - 30, 60), fill=ink, width=12)


def server(draw: ImageDraw.ImageDraw, ink: Colour, ground: Colour) -> None:
    for y in (60, 180, 300):
        draw.rounded_rectangle((130, y, 510, y + 100), radius=10, fill=ink)
        draw.ellipse((450, y + 38, 474, y + 62), fill=ground)
        draw.line((170, y + 50, 380, y + 50), fill=ground, width=8)


def monitor(draw: ImageDraw.ImageDraw, ink: Colour, ground: Colour) -> None:
    draw.rounded_rectangle((90, 50, 550, 340), radius=14, fill=ink)
    draw.rectangle((115, 75, 525, 315), fill=ground)
    draw.rectangle((295, 340, 345, 400), fill=ink)
    draw.rounded_rectangle((210, 395, 430, 425), radius=10, fill=ink)


def paper(draw: ImageDraw.ImageDraw, ink: Colour, ground: Colour) -> None:
    draw.polygon([(190, 40), (390, 40), (460, 110), (460, 430), (190, 430)], fill=ink)
    draw.polygon([(390, 40), (390, 110), (460, 110)], fill=ground)
    for y in range(160, 400, 40):
        draw.line((230, y, 420, y), fill=ground, width=8)


def pen(draw: ImageDraw.ImageDraw, ink: Colour, ground: Colour) -> None:
    draw.line((170, 420, 440, 90), fill=ink, width=54)
    draw.polygon([(150, 395), (195, 440), (120, 460)], fill=ink)  # the tip
    draw.line((430, 60, 360, 150), fill=ground, width=8)  # the clip


def chair(draw: ImageDraw.ImageDraw, ink: Colour, ground: Colour) -> None:
    draw.rounded_rectangle((220, 40, 420, 230), radius=30, fill=ink)  # the back
    draw.rounded_rectangle((190, 240, 450, 290), radius=14, fill=ink)  # the seat
    draw.rectangle((305, 290, 335, 380), fill=ink)
    draw.line((180, 420, 460, 420), fill=ink, width=14)
    draw.line((320, 380, 180, 420), fill=ink, width=14)
    draw.line((320, 380, 460, 420), fill=ink, width=14)


def binder(draw: ImageDraw.ImageDraw, ink: Colour, ground: Colour) -> None:
    draw.rounded_rectangle((220, 40, 420, 430), radius=14, fill=ink)
    draw.rectangle((250, 90, 390, 170), fill=ground)  # the label
    draw.ellipse((295, 300, 345, 350), fill=ground)  # the finger hole


def box(draw: ImageDraw.ImageDraw, ink: Colour, ground: Colour) -> None:
    draw.polygon([(320, 60), (520, 150), (320, 240), (120, 150)], fill=ink)
    draw.polygon([(120, 160), (312, 246), (312, 440), (120, 350)], fill=ink)
    draw.polygon([(328, 246), (520, 160), (520, 350), (328, 440)], fill=ink)
    draw.line((220, 105, 420, 195), fill=ground, width=14)  # the tape


def pallet(draw: ImageDraw.ImageDraw, ink: Colour, ground: Colour) -> None:
    for x in range(80, 560, 70):  # the deck boards
        draw.rectangle((x, 140, x + 60, 190), fill=ink)
    for x in (80, 295, 510):  # the blocks
        draw.rectangle((x, 190, x + 50, 300), fill=ink)
    draw.rectangle((80, 300, 560, 340), fill=ink)  # the bottom board


def roll(draw: ImageDraw.ImageDraw, ink: Colour, ground: Colour) -> None:
    draw.rectangle((180, 120, 460, 360), fill=ink)
    draw.ellipse((390, 120, 530, 360), fill=ink)
    draw.ellipse((110, 120, 250, 360), fill=ink)
    draw.ellipse((135, 160, 225, 320), fill=ground)
    draw.ellipse((160, 210, 200, 270), fill=ink)


def sack(draw: ImageDraw.ImageDraw, ink: Colour, ground: Colour) -> None:
    draw.polygon([(200, 70), (440, 70), (490, 420), (150, 420)], fill=ink)
    draw.rectangle((230, 50, 410, 80), fill=ink)
    draw.rectangle((230, 200, 410, 300), fill=ground)  # the label
    draw.line((250, 250, 390, 250), fill=ink, width=10)


def glove(draw: ImageDraw.ImageDraw, ink: Colour, ground: Colour) -> None:
    draw.rounded_rectangle((220, 200, 420, 420), radius=50, fill=ink)  # the palm
    for index, x in enumerate((222, 272, 322, 372)):
        top = (110, 70, 80, 120)[index]
        draw.rounded_rectangle((x, top, x + 46, 260), radius=23, fill=ink)
    draw.line((230, 300, 140, 200), fill=ink, width=48)  # the thumb
    draw.ellipse((116, 176, 164, 224), fill=ink)
    draw.rectangle((225, 380, 415, 400), fill=ground)  # the cuff


def glasses(draw: ImageDraw.ImageDraw, ink: Colour, ground: Colour) -> None:
    for x in (110, 350):
        draw.rounded_rectangle((x, 170, x + 180, 320), radius=50, fill=ink)
        draw.rounded_rectangle((x + 20, 190, x + 160, 300), radius=40, fill=ground)
    draw.line((290, 210, 350, 210), fill=ink, width=16)
    draw.line((110, 200, 60, 160), fill=ink, width=12)
    draw.line((530, 200, 580, 160), fill=ink, width=12)


def mask(draw: ImageDraw.ImageDraw, ink: Colour, ground: Colour) -> None:
    draw.chord((150, 80, 490, 420), 0, 180, fill=ink)
    draw.polygon([(150, 250), (320, 120), (490, 250)], fill=ink)
    draw.ellipse((290, 260, 350, 320), fill=ground)  # the valve
    draw.line((150, 250, 80, 200), fill=ink, width=10)
    draw.line((490, 250, 560, 200), fill=ink, width=10)


def jacket(draw: ImageDraw.ImageDraw, ink: Colour, ground: Colour) -> None:
    draw.polygon(
        [
            (230, 50),
            (410, 50),
            (540, 150),
            (490, 230),
            (440, 190),
            (440, 430),
            (200, 430),
            (200, 190),
            (150, 230),
            (100, 150),
        ],
        fill=ink,
    )
    draw.polygon([(270, 50), (370, 50), (320, 120)], fill=ground)  # the collar
    draw.rectangle((200, 300, 440, 330), fill=ground)  # reflective band
    draw.line((320, 120, 320, 430), fill=ground, width=6)


def boot(draw: ImageDraw.ImageDraw, ink: Colour, ground: Colour) -> None:
    draw.polygon([(200, 60), (340, 60), (350, 300), (540, 330), (560, 420), (170, 420)], fill=ink)
    draw.rectangle((170, 400, 560, 430), fill=ink)
    draw.ellipse((440, 320, 560, 430), fill=ink)  # the toe cap
    for y in (120, 170, 220):
        draw.line((240, y, 320, y), fill=ground, width=8)  # the laces


def bottle(draw: ImageDraw.ImageDraw, ink: Colour, ground: Colour) -> None:
    draw.rectangle((280, 40, 360, 90), fill=ink)  # the cap
    draw.polygon([(290, 90), (350, 90), (420, 170), (220, 170)], fill=ink)
    draw.rounded_rectangle((220, 160, 420, 430), radius=24, fill=ink)
    draw.rectangle((240, 240, 400, 340), fill=ground)  # the label


def cup(draw: ImageDraw.ImageDraw, ink: Colour, ground: Colour) -> None:
    draw.polygon([(170, 150), (430, 150), (400, 400), (200, 400)], fill=ink)
    draw.arc((380, 190, 500, 320), 270, 90, fill=ink, width=24)  # the handle
    draw.rounded_rectangle((130, 395, 470, 425), radius=12, fill=ink)
    for x in (250, 320):
        draw.arc((x - 30, 40, x + 30, 140), 90, 270, fill=ink, width=8)  # steam


def drum(draw: ImageDraw.ImageDraw, ink: Colour, ground: Colour) -> None:
    draw.rectangle((190, 90, 450, 400), fill=ink)
    draw.ellipse((190, 50, 450, 130), fill=ink)
    draw.ellipse((190, 360, 450, 440), fill=ink)
    for y in (190, 300):
        draw.line((190, y, 450, y), fill=ground, width=8)  # the hoops
    draw.ellipse((230, 70, 270, 95), fill=ground)  # the bung


def yarn(draw: ImageDraw.ImageDraw, ink: Colour, ground: Colour) -> None:
    draw.ellipse((150, 70, 490, 410), fill=ink)
    for start in (20, 60, 100, 140):
        draw.arc(
            (190, 110 + start // 4, 450, 370 - start // 4),
            180 + start,
            360 + start,
            fill=ground,
            width=7,
        )
    draw.line((480, 300, 590, 420), fill=ink, width=10)


def bars(draw: ImageDraw.ImageDraw, ink: Colour, ground: Colour) -> None:
    for row, y in enumerate((330, 240, 150)):
        for index in range(3 - row):
            x = 130 + row * 65 + index * 130
            draw.rounded_rectangle((x, y, x + 120, y + 84), radius=8, fill=ink)
            draw.rectangle((x + 16, y + 14, x + 104, y + 26), fill=ground)


def sheets(draw: ImageDraw.ImageDraw, ink: Colour, ground: Colour) -> None:
    for index in range(4):
        y = 330 - index * 60
        draw.polygon([(120, y), (420, y), (520, y - 80), (220, y - 80)], fill=ink)
        draw.line((120, y + 4, 420, y + 4), fill=ground, width=6)


def heap(draw: ImageDraw.ImageDraw, ink: Colour, ground: Colour) -> None:
    draw.chord((90, 150, 550, 620), 180, 360, fill=ink)
    for x, y in ((250, 300), (330, 260), (400, 330), (300, 350), (200, 360)):
        draw.ellipse((x - 10, y - 10, x + 10, y + 10), fill=ground)


def bricks(draw: ImageDraw.ImageDraw, ink: Colour, ground: Colour) -> None:
    for row, y in enumerate((320, 220, 120)):
        offset = 0 if row % 2 == 0 else 70
        for x in range(80 + offset, 540, 140):
            draw.rectangle((x, y, min(x + 128, 560), y + 88), fill=ink)


def slab(draw: ImageDraw.ImageDraw, ink: Colour, ground: Colour) -> None:
    draw.rectangle((100, 150, 540, 380), fill=ink)
    for y in range(175, 370, 32):  # the fibres
        draw.line((110, y, 530, y + 12), fill=ground, width=5)


def door(draw: ImageDraw.ImageDraw, ink: Colour, ground: Colour) -> None:
    draw.rectangle((210, 40, 430, 430), fill=ink)
    draw.rectangle((240, 70, 400, 220), fill=ground)
    draw.rectangle((240, 250, 400, 400), fill=ground)
    draw.ellipse((370, 225, 396, 251), fill=ink)  # the handle


ICONS: Final[dict[str, Draw]] = {
    draw.__name__: draw
    for draw in (
        bolt, screw, nut, washer, bearing, cylinder, valve, cartridge, spanner, drill, ruler,
        disc, cable, socket, bulb, breaker, motor, chip, laptop, network, server, monitor,
        paper, pen, chair, binder, box, pallet, roll, sack, glove, glasses, mask, jacket,
        boot, bottle, cup, drum, yarn, bars, sheets, heap, bricks, slab, door,
    )
}  # fmt: skip

# What each leaf category's products look like.
ICON_OF_LEAF: Final[dict[str, str]] = {
    "bolts": "bolt",
    "screws": "screw",
    "nuts": "nut",
    "washers": "washer",
    "anchors-plugs": "screw",
    "rivets": "bolt",
    "bearings-power-transmission": "bearing",
    "hydraulics-pneumatics": "cylinder",
    "pipes-valves-fittings": "valve",
    "adhesives-sealants": "cartridge",
    "hand-tools": "spanner",
    "power-tools": "drill",
    "measuring-testing": "ruler",
    "cutting-abrasives": "disc",
    "cables-wires": "cable",
    "switches-sockets": "socket",
    "lighting": "bulb",
    "circuit-protection": "breaker",
    "motors-drives": "motor",
    "electronic-components": "chip",
    "computers-laptops": "laptop",
    "networking": "network",
    "servers-storage": "server",
    "peripherals": "monitor",
    "paper-products": "paper",
    "writing-instruments": "pen",
    "office-furniture": "chair",
    "filing-storage": "binder",
    "boxes-cartons": "box",
    "pallets": "pallet",
    "films-wraps": "roll",
    "bags-sacks": "sack",
    "labels-tapes": "roll",
    "gloves": "glove",
    "eye-face-protection": "glasses",
    "respiratory-protection": "mask",
    "workwear": "jacket",
    "safety-footwear": "boot",
    "sugar-sweeteners": "sack",
    "flours-grains": "sack",
    "oils-fats": "bottle",
    "additives-flavours": "bottle",
    "coffee-tea": "cup",
    "industrial-chemicals": "drum",
    "solvents": "bottle",
    "cleaning-chemicals": "bottle",
    "lubricants": "drum",
    "paints-coatings": "drum",
    "fabrics": "roll",
    "yarns-fibres": "yarn",
    "technical-textiles": "roll",
    "steel": "bars",
    "aluminium": "bars",
    "copper": "bars",
    "plastics-polymers": "sheets",
    "wood-timber": "sheets",
    "minerals": "heap",
    "cement-concrete": "bricks",
    "insulation": "slab",
    "doors-windows": "door",
}


def draw_product(leaf: str, noun: str, colour_index: int) -> bytes:
    """A PNG of `noun` (a product kind of the leaf category `leaf`): its drawing, and the
    name beneath it."""
    # Here, not at the top: the CLI imports this module, and with one worker `serve`
    # serves from the CLI's process, which would hold Pillow's drawing and FreeType
    # modules (about 3 MB) without ever drawing.
    from PIL import ImageDraw, ImageFont

    ground, ink = PALETTE[colour_index % len(PALETTE)]
    picture = Image.new("RGB", (SIZE, SIZE), ground)
    draw = ImageDraw.Draw(picture)
    ICONS[ICON_OF_LEAF.get(leaf, "box")](draw, ink, ground)
    font = ImageFont.load_default(size=52)
    lines = textwrap.wrap(noun, width=20)[:2]
    for index, line in enumerate(lines):
        y = 510 + (index - (len(lines) - 1) / 2) * 62
        draw.text((SIZE // 2, y), line, fill=ink, font=font, anchor="mm")
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG")
    return buffer.getvalue()
