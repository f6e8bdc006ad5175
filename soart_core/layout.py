"""Names shared by soart's tables: roles, the text columns of its tables, and the
kinds of figure (where each stage writes: soart_core.pipeline)."""

ROLES = ("query", "key", "value")
UNLABELED = ""  # the group of an item whose answer is not known: an empty cell
# the text columns of the block and verdict tables (the rest are numbers)
BLOCK_TEXT = ("item_group", "judge_group")
VERDICT_TEXT = ("item", "group", "predicted", "flag")
SUMMARY_TEXT = ("metric", "method", "warnings")  # of the evaluation's tables
FIGURES = ("attention", "difference", "blocks", "verdicts")
