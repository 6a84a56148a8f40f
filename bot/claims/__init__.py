"""Damage claims: the customer's answers, photo evidence, the offer and the claim ticket.

answers (reading one answer) · replies (what a reply means, re-ask counting) · draft (parcel
facts and answers) · offer (the policy's offer) · wording (texts from ``bot/texts/*/claims.yml``)
· service (checks, questions, ``file_claim``) · limits, refusals, images, attachments, evidence
(photo evidence: limits, refusal codes, content checks, metadata, the store).
"""
