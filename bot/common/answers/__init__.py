"""Reading a customer's answer to a question in their own words, in Chinese or English.

Forms ask three kinds of question: yes or no ("do you still have the packaging?"),
a choice among a few options (what is damaged; what to do with a late parcel), and
an amount (what the goods are worth, how much is damaged). Customers rarely answer
with the word on the button: they say "包装还留着", "早扔了", "nope, threw it away",
"帮我加急", "送到驿站我自己取", "两千出头", "around 2k". Each ``read_*`` function here
turns such a reply into a value, or ``None`` when the reply does not answer the
question (a question back, "what?", an unrelated sentence, "I don't know"), so the
form can ask again instead of guessing.

How a reply is read:

* It is normalised (NFKC, simplified Chinese, lower case, straight quotes) and cut
  into clauses at punctuation and at "但是 / but". Clauses that ask something back
  ("什么意思？", "why?", "要留着吗？") are set aside.
* A yes/no question has a *topic* (:data:`KEPT`, :data:`CONFIRM`, :data:`ACCEPT`) with
  its own words: for "kept?" "留着 / 还在 / kept" say yes and "扔 / 丢 / threw" say
  no, and a negation right before such a verb flips it ("没扔" is yes, "没留" is no,
  "didn't throw it away" is yes). The topic's words outweigh a bare "是 / 不 / no"
  ("no, I still have it" is yes); words that disagree give ``None``.
* A choice names its options by phrases; a negated option ("外包装没坏", "not the
  box", "不想等了") is ruled out, and when that leaves one option it is the answer.
* Amounts go through :mod:`bot.common.money`: approximate words give the amount named
  ("两千出头" is 2000, "not more than 500" is 500).

Plain Python: no Rasa import, so every rule is covered by table tests. One module per
kind of answer: :mod:`.reading` (normalising, clauses, questions back, stop / unsure),
:mod:`.yes_no`, :mod:`.choices` and :mod:`.amounts`; this package is their public face.
"""

from __future__ import annotations

from bot.common.answers.amounts import read_amount, read_extent
from bot.common.answers.choices import DELAY_OPTIONS, PARTS, read_delay_option, read_part
from bot.common.answers.reading import asks, is_decision, is_question, is_stop, is_unsure, normalise
from bot.common.answers.yes_no import ACCEPT, ANY, CONFIRM, KEPT, read_yes_no

__all__ = [
    "ACCEPT",
    "ANY",
    "CONFIRM",
    "DELAY_OPTIONS",
    "KEPT",
    "PARTS",
    "asks",
    "is_decision",
    "is_question",
    "is_stop",
    "is_unsure",
    "normalise",
    "read_amount",
    "read_delay_option",
    "read_extent",
    "read_part",
    "read_yes_no",
]
