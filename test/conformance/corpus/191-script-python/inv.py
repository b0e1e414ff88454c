#!/usr/bin/env python3
import json, sys
if sys.argv[1:] == ["--list"]:
    print(json.dumps({"all": {"children": ["app"]}, "app": {"hosts": ["a1"], "vars": {"x": 1.0}}, "_meta": {"hostvars": {"a1": {"big": 2**60}}}}))
else:
    print("{}")
