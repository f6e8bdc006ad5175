"""The one error type a user sees for bad input."""


class InputError(Exception):
    """Bad input: names the file, where in it (line, column) and what is wrong.

    The message is complete on its own, so the workflow prints it as is.
    """

    def __init__(self, path, fault, line=None, column=None):
        self.path = str(path)
        self.fault = fault
        self.line = line
        self.column = column
        where = [self.path]
        if line is not None:
            where.append(f"line {line}")
        if column is not None:
            where.append(f"column '{column}'")
        super().__init__(", ".join(where) + ": " + fault)
