# Prints the image's package manifest: `name==version` for every Python distribution a program
# imports, sorted by name. Where two copies of a package are installed (pinned wheels over
# Debian's), the one earlier on sys.path is the one `import` finds, so it is the one listed.
import importlib.metadata
import re

found = {}
for dist in importlib.metadata.distributions():
    name = dist.metadata["Name"]
    if name:
        found.setdefault(re.sub(r"[-_.]+", "-", name).lower(), f"{name}=={dist.version}")
print("\n".join(found[key] for key in sorted(found)))
