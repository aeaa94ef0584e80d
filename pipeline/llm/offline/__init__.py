"""The offline provider: a real Generator and Discriminator that need no network and no key.

The Generator derives instances from the source itself (documentation from the human-written
docstring, generation from docstring and signature, repair by injecting a realistic bug); the
Discriminator runs a deterministic check per criterion. What neither can do honestly (translation)
is answered as skipped, with the reason.
"""
