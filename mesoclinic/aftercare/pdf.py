"""The printable aftercare handout: an A4 PDF made in-process with fpdf2.

The font is Roboto from the `font-roboto` PyPI package (Apache 2.0), embedded in the PDF, so
names such as "Kateřina Dvořák" or "Yılmaz" print correctly on any machine `pip` can install on,
without a system font package (docs/decisions/0017).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import font_roboto
from fpdf import FPDF
from fpdf.enums import XPos, YPos

from .composition import Aftercare
from .models import AftercareHandout

# fontTools logs every glyph it keeps when fpdf2 subsets the font; that is noise in the worker's log.
logging.getLogger("fontTools").setLevel(logging.WARNING)

FONT = "Roboto"
INK = (29, 36, 48)
MUTED = (91, 100, 114)
BRAND = (31, 95, 139)


@dataclass(frozen=True)
class HandoutHeader:
    clinic_name: str
    clinic_address: str
    patient_name: str
    record_number: str
    practitioner: str = ""


class _HandoutPDF(FPDF):
    footer_text = ""

    def footer(self) -> None:
        self.set_y(-14)
        self.set_font(FONT, "", 8)
        self.set_text_color(*MUTED)
        self.cell(0, 6, f"{self.footer_text}  ·  page {self.page_no()} of {{nb}}", align="C")


def _paragraph(pdf: FPDF, text: str, *, size: float = 11, style: str = "", color: tuple[int, int, int] = INK, gap: float = 1.5) -> None:
    pdf.set_font(FONT, style, size)
    pdf.set_text_color(*color)
    pdf.multi_cell(0, size * 0.5, text, new_x=XPos.LMARGIN, new_y=YPos.NEXT, align="L")
    pdf.ln(gap)


def _heading(pdf: FPDF, text: str) -> None:
    pdf.ln(2)
    _paragraph(pdf, text, size=13, style="B", color=BRAND, gap=1)


def _bullet(pdf: FPDF, text: str, *, bold_prefix: str = "") -> None:
    pdf.set_font(FONT, "", 11)
    pdf.set_text_color(*INK)
    pdf.cell(6, 5.5, "•")
    width = pdf.epw - 6
    if bold_prefix:
        pdf.multi_cell(width, 5.5, f"**{bold_prefix}** {text}", markdown=True, new_x=XPos.LMARGIN, new_y=YPos.NEXT, align="L")
    else:
        pdf.multi_cell(width, 5.5, text, new_x=XPos.LMARGIN, new_y=YPos.NEXT, align="L")
    pdf.ln(1)


def render_handout_pdf(aftercare: Aftercare, header: HandoutHeader) -> bytes:
    """The handout as PDF bytes (the same bytes for the same handout: the creation date is the end of the session)."""
    pdf = _HandoutPDF(format="A4")
    pdf.set_creation_date(aftercare.ended_at)  # fixed, so the same handout always gives the same bytes
    pdf.set_title("Aftercare")
    pdf.set_author(header.clinic_name)
    pdf.add_font(FONT, "", font_roboto.Roboto)
    pdf.add_font(FONT, "B", font_roboto.RobotoBold)
    pdf.footer_text = f"{header.clinic_name} · {aftercare.call_line.removesuffix(' if:').removeprefix('Call us on ')}"
    pdf.set_margins(18, 16, 18)
    pdf.set_auto_page_break(True, margin=18)
    pdf.add_page()

    _paragraph(pdf, header.clinic_name, size=10, style="B", color=MUTED, gap=0)
    if header.clinic_address:
        _paragraph(pdf, " ".join(header.clinic_address.split()), size=9, color=MUTED, gap=3)
    _paragraph(pdf, "Your aftercare", size=20, style="B", color=INK, gap=1)
    _paragraph(pdf, f"{header.patient_name} ({header.record_number})", size=12, style="B", gap=0.5)
    who = f", with {header.practitioner}" if header.practitioner else ""
    _paragraph(pdf, f"{aftercare.protocol_name}: your session ended on {aftercare.ended_label}{who}.", size=11, color=MUTED, gap=2)

    _heading(pdf, "What to do")
    if aftercare.instructions:
        for item in aftercare.instructions:
            areas = ", ".join(item.areas)
            _bullet(pdf, f"{item.text} ({areas})", bold_prefix=f"Until {item.until_label}:")
    else:
        _bullet(pdf, "No special restrictions for the areas treated today.")

    _heading(pdf, "What is normal")
    for text in aftercare.expected_effects:
        _paragraph(pdf, text)

    _heading(pdf, "When to call us")
    _paragraph(pdf, aftercare.call_line, style="B", gap=1)
    for reason in aftercare.call_when:
        _bullet(pdf, reason)
    _paragraph(pdf, aftercare.emergency, style="B", color=(179, 38, 30), gap=2)

    _heading(pdf, "We will check in")
    _paragraph(
        pdf,
        f"On {aftercare.checkin_label} we will send you a message asking whether the redness has settled. "
        "Please answer it: one tap is enough.",
    )
    return bytes(pdf.output())


def handout_pdf(handout: AftercareHandout) -> bytes:
    """The handout of a signed session as a PDF (needs handout.patient, .location, .record.practitioner)."""
    practitioner = handout.record.practitioner
    header = HandoutHeader(
        clinic_name=handout.location.name,
        clinic_address=handout.location.address,
        patient_name=handout.patient.full_name,
        record_number=handout.patient.record_number,
        practitioner=practitioner.get_full_name() or practitioner.get_username(),
    )
    return render_handout_pdf(handout.aftercare, header)


def handout_filename(handout: AftercareHandout) -> str:
    return f"aftercare-{handout.patient.record_number}-{handout.pk}.pdf"


def handout_pdf_for(handout_id: str) -> bytes:
    """The e-mailed handout's attachment, made by the worker as it sends (messaging.renderers)."""
    handout = AftercareHandout.objects.select_related("patient", "location", "record__practitioner").get(pk=int(handout_id))
    return handout_pdf(handout)
