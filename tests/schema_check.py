#!/usr/bin/env python3
"""Validates tcplens JSON and NDJSON output against docs/report.schema.json.

Run by tests/schema.sh, which writes the outputs and a manifest (one line
per output: "json PATH LABEL" or "ndjson PATH LABEL"). Prints TAP.

Every output is checked by the built-in validator below, and also by the
jsonschema package when it can be imported (Debian: python3-jsonschema).
The built-in one knows only the keywords this schema uses and rejects a
schema with any other, so it never passes a document by ignoring a rule.
Negative checks prove that each validator in use rejects a misspelled
state name and an unknown field; the schema's enumerations are compared
with the C sources they mirror.
"""
import argparse
import copy
import json
import re
import sys

ANNOTATIONS = {"$schema", "$id", "title", "description", "$defs", "$comment"}
TYPES = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "integer": lambda v: (isinstance(v, int) and not isinstance(v, bool))
    or (isinstance(v, float) and v.is_integer()),
}


class SchemaError(Exception):
    """The schema uses something the built-in validator does not know."""


class Builtin:
    """A JSON Schema (2020-12) validator for the subset the report schema uses."""

    name = "built-in"

    def __init__(self, root):
        self.root = root
        self.check_keywords(root)

    def check_keywords(self, node):
        known = ANNOTATIONS | set(self.KEYWORDS)
        if isinstance(node, dict):
            for k in node:
                if k not in known:
                    raise SchemaError("unsupported keyword %r" % k)
            for k, v in node.items():
                if k in ("properties", "$defs"):
                    for sub in v.values():
                        self.check_keywords(sub)
                elif k in ("items", "additionalProperties", "propertyNames"):
                    if isinstance(v, dict):
                        self.check_keywords(v)
                elif k in ("oneOf", "anyOf"):
                    for sub in v:
                        self.check_keywords(sub)

    def resolve(self, ref):
        if not ref.startswith("#/"):
            raise SchemaError("only local $ref is supported: %r" % ref)
        node = self.root
        for part in ref[2:].split("/"):
            node = node[part.replace("~1", "/").replace("~0", "~")]
        return node

    def errors(self, inst, schema=None, path="$"):
        """Yields (path, message) for every rule inst breaks."""
        if schema is None:
            schema = self.root
        for k, v in schema.items():
            if k in ANNOTATIONS:
                continue
            yield from self.KEYWORDS[k](self, inst, v, schema, path)

    def valid(self, inst, schema, path):
        return next(iter(self.errors(inst, schema, path)), None) is None

    def k_ref(self, inst, v, schema, path):
        yield from self.errors(inst, self.resolve(v), path)

    def k_type(self, inst, v, schema, path):
        names = v if isinstance(v, list) else [v]
        if not any(TYPES[t](inst) for t in names):
            yield path, "%r is not of type %s" % (inst, v)

    def k_enum(self, inst, v, schema, path):
        if not any(inst == e and type(inst) is type(e) for e in v):
            yield path, "%r is not one of %s" % (inst, v)

    def k_const(self, inst, v, schema, path):
        if not (inst == v and type(inst) is type(v)):
            yield path, "%r is not %r" % (inst, v)

    def k_properties(self, inst, v, schema, path):
        if isinstance(inst, dict):
            for name, sub in v.items():
                if name in inst:
                    yield from self.errors(inst[name], sub, "%s.%s" % (path, name))

    def k_required(self, inst, v, schema, path):
        if isinstance(inst, dict):
            for name in v:
                if name not in inst:
                    yield path, "%r is a required property" % name

    def k_additional(self, inst, v, schema, path):
        if not isinstance(inst, dict):
            return
        extra = [n for n in inst if n not in schema.get("properties", {})]
        for name in extra:
            if v is False:
                yield path, "additional property %r is not allowed" % name
            elif isinstance(v, dict):
                yield from self.errors(inst[name], v, "%s.%s" % (path, name))

    def k_property_names(self, inst, v, schema, path):
        if isinstance(inst, dict):
            for name in inst:
                for p, m in self.errors(name, v, "%s[name %r]" % (path, name)):
                    yield p, m

    def k_items(self, inst, v, schema, path):
        if isinstance(inst, list):
            for i, item in enumerate(inst):
                yield from self.errors(item, v, "%s[%d]" % (path, i))

    def k_one_of(self, inst, v, schema, path):
        n = sum(1 for sub in v if self.valid(inst, sub, path))
        if n != 1:
            yield path, "matches %d of the oneOf alternatives, not exactly one" % n

    def k_any_of(self, inst, v, schema, path):
        if not any(self.valid(inst, sub, path) for sub in v):
            yield path, "%r matches none of the anyOf alternatives" % (inst,)

    def bound(test, what):
        def check(self, inst, v, schema, path):
            if not test(inst, v):
                yield path, "%r: %s %r" % (inst, what, v)
        return check

    KEYWORDS = {
        "$ref": k_ref,
        "type": k_type,
        "enum": k_enum,
        "const": k_const,
        "properties": k_properties,
        "required": k_required,
        "additionalProperties": k_additional,
        "propertyNames": k_property_names,
        "items": k_items,
        "oneOf": k_one_of,
        "anyOf": k_any_of,
        "minimum": bound(lambda i, v: not TYPES["number"](i) or i >= v, "is less than"),
        "maximum": bound(lambda i, v: not TYPES["number"](i) or i <= v, "is more than"),
        "minLength": bound(lambda i, v: not isinstance(i, str) or len(i) >= v, "shorter than"),
        "maxLength": bound(lambda i, v: not isinstance(i, str) or len(i) <= v, "longer than"),
        "minItems": bound(lambda i, v: not isinstance(i, list) or len(i) >= v, "fewer items than"),
        "maxItems": bound(lambda i, v: not isinstance(i, list) or len(i) <= v, "more items than"),
        "minProperties": bound(lambda i, v: not isinstance(i, dict) or len(i) >= v,
                               "fewer properties than"),
        "pattern": bound(lambda i, v: not isinstance(i, str) or re.search(v, i) is not None,
                         "does not match"),
    }


class Library:
    """The jsonschema package."""

    name = "jsonschema"

    def __init__(self, root):
        import jsonschema

        self.cls = jsonschema.validators.validator_for(root)
        self.cls.check_schema(root)
        self.validators = {id(root): self.cls(root)}
        self.root = root

    def errors(self, inst, schema=None):
        schema = self.root if schema is None else schema
        if id(schema) not in self.validators:
            self.validators[id(schema)] = self.cls(schema)
        v = self.validators[id(schema)]
        for e in v.iter_errors(inst):
            yield "$" + "".join("[%r]" % p for p in e.absolute_path), e.message


class Tap:
    def __init__(self):
        self.n = 0
        self.failed = 0

    def ok(self, cond, what, detail=()):
        self.n += 1
        print("%s %d - %s" % ("ok" if cond else "not ok", self.n, what))
        if not cond:
            self.failed += 1
            for line in list(detail)[:10]:
                print("#   %s" % line)
        return cond

    def note(self, msg):
        print("# %s" % msg)


def first_errors(validator, inst, schema=None, limit=5):
    out = []
    for path, msg in validator.errors(inst, schema):
        out.append("%s: %s" % (path, msg[:300]))
        if len(out) >= limit:
            break
    return out


def line_schema(root):
    """The NDJSON line schema: the root's $defs/ndjson_line, with the $defs."""
    return {"$schema": root.get("$schema"), "$defs": root["$defs"],
            "$ref": "#/$defs/ndjson_line"}


def c_strings(text, start_pattern):
    """String literals of the C initializer that follows start_pattern."""
    m = re.search(start_pattern + r"[^{]*\{(.*?)\};", text, re.S)
    if not m:
        return None
    return re.findall(r'"([^"]*)"', re.sub(r"/\*.*?\*/", "", m.group(1), flags=re.S))


def registry(header):
    """(id, host-level) for every X(...) line of TL_ANOMALIES."""
    text = open(header).read()
    m = re.search(r"#define\s+TL_ANOMALIES\(X\)(.*?)(?:\n\s*\n|\n#)", text, re.S)
    body = m.group(1) if m else ""
    return [(i, h == "true") for i, h in
            re.findall(r'X\(\s*\w+\s*,\s*"([^"]+)"\s*,\s*\w+\s*,\s*(true|false)\s*[,)]', body)]


def check_sources(tap, root, srcdir):
    d = root["$defs"]
    reg = registry(srcdir + "/include/tcplens/anomaly.h")
    conn = sorted(i for i, h in reg if not h)
    host = sorted(i for i, h in reg if h)
    tap.ok(len(reg) > 0 and sorted(d["anomaly_type"]["enum"]) == conn,
           "anomaly_type enum = connection-level ids of TL_ANOMALIES",
           ["header: %s" % conn, "schema: %s" % sorted(d["anomaly_type"]["enum"])])
    tap.ok(len(host) > 0 and sorted(d["host_anomaly_type"]["enum"]) == host,
           "host_anomaly_type enum = host-level ids of TL_ANOMALIES",
           ["header: %s" % host, "schema: %s" % sorted(d["host_anomaly_type"]["enum"])])
    tcpstate = open(srcdir + "/src/tcpstate.c").read()
    states = c_strings(tcpstate, r"state_names\[\]\s*=")
    tap.ok(states is not None and states == d["state"]["enum"],
           "state enum = src/tcpstate.c state_names", ["C: %s" % states])
    kinds = c_strings(tcpstate, r"kind_names\[\]\s*=") or []
    schema_kinds = (d["segment_event"]["enum"] + d["timed_event"]["enum"] +
                    d["icmp_event"]["enum"])
    tap.ok(len(kinds) > 0 and sorted(kinds) == sorted(schema_kinds),
           "segment_event + timed_event + icmp_event enums = src/tcpstate.c kind_names",
           ["C: %s" % kinds, "schema: %s" % schema_kinds])
    flow = open(srcdir + "/src/flow.c").read()
    ends = c_strings(flow, r"tl_end_name\(enum tl_end e\)\s*\{[^{]*names\[\]\s*=")
    roles = c_strings(flow, r"tl_roles_from_name\(enum tl_roles_from r\)\s*\{[^{]*names\[\]\s*=")
    tap.ok(ends is not None and sorted(ends) == sorted(d["end"]["enum"]),
           "end enum = src/flow.c tl_end_name", ["C: %s" % ends])
    tap.ok(roles is not None and sorted(roles) == sorted(d["roles_from"]["enum"]),
           "roles_from enum = src/flow.c tl_roles_from_name", ["C: %s" % roles])
    dec = open(srcdir + "/src/decode.c").read()
    # "ok" and "icmp_error" (an ICMP error quoting TCP, taken in) skip nothing.
    reasons = [r for r in (c_strings(dec, r"dec_info\[\]\s*=") or [])
               if r not in ("ok", "icmp_error")]
    tap.ok(len(reasons) > 0 and sorted(reasons) == sorted(d["skip_reason"]["enum"]),
           "skip_reason enum = src/decode.c dec_info names", ["C: %s" % reasons])


def mutations(doc):
    """(description, broken document) pairs every validator must reject."""
    conns = [c for c in doc["connections"] if c.get("timeline")]
    if not conns:
        return []
    out = []

    def mutated(what, fn):
        d = copy.deepcopy(doc)
        fn(d, next(c for c in d["connections"] if c.get("timeline")))
        out.append((what, d))

    mutated("misspelled state in states_at_end",
            lambda d, c: c["states_at_end"].update(client="TIME_WIAT"))
    mutated("misspelled state in a timeline entry",
            lambda d, c: c["timeline"][0].update(server="ESTABLISED"))
    mutated("misspelled state in summary.states_at_end",
            lambda d, c: d["summary"]["states_at_end"]["client"].update(CLOSE_WIAT=1))
    mutated("unknown field in a connection", lambda d, c: c.update(bogus=1))
    mutated("unknown field in a timeline entry", lambda d, c: c["timeline"][0].update(extra=0))
    mutated("unknown field at the top", lambda d, c: d.update(surprise=True))
    mutated("unknown anomaly type",
            lambda d, c: c["anomalies"].append({
                "type": "cosmic_ray", "severity": "info", "endpoint": "client", "ts": 0.0,
                "packets": [], "evidence": {}, "explanation": "", "suggestion": ""}))
    mutated("missing required field (end)", lambda d, c: c.pop("end"))
    return out


def check_negative(tap, validators, lschema, doc):
    cases = mutations(doc)
    tap.ok(len(cases) > 0, "negative checks have a document with a timeline to break")
    for what, bad in cases:
        for v in validators:
            tap.ok(next(iter(v.errors(bad)), None) is not None,
                   "%s rejects a document with a %s" % (v.name, what))
    if cases:
        line = copy.deepcopy(next(c for c in doc["connections"] if c.get("timeline")))
        line["record"] = "connection"
        for v in validators:
            tap.ok(next(iter(v.errors(line, lschema)), None) is None,
                   "%s takes a connection of the document as an NDJSON line" % v.name)
        bad = [("a misspelled state", dict(line, states_at_end={"client": "CLOSED",
                                                                "server": "LISTENING"})),
               ("no record", {k: x for k, x in line.items() if k != "record"}),
               ("an unknown record", dict(line, record="connections")),
               ("a summary record on a connection", dict(line, record="summary"))]
        for what, b in bad:
            for v in validators:
                tap.ok(next(iter(v.errors(b, lschema)), None) is not None,
                       "%s rejects an NDJSON line with %s" % (v.name, what))


class Seen:
    """What the valid outputs covered, so the positive checks mean something."""

    def __init__(self):
        self.shapes = set()
        self.connections = 0

    def add_conn(self, c):
        self.connections += 1
        for e in c.get("timeline", []):
            self.shapes.add("segments" if e.get("event") == "segments"
                            else "segment" if "dir" in e else "timed")


def check_output(tap, validators, lschema, kind, path, label, seen):
    try:
        text = open(path, encoding="utf-8").read()
        if kind == "json":
            items = [("document", json.loads(text), None)]
        else:
            items = [("line %d" % (i + 1), json.loads(l), lschema)
                     for i, l in enumerate(text.splitlines())]
    except (OSError, ValueError) as e:
        tap.ok(False, "%s: %s parses" % (label, kind), [str(e)])
        return None
    for v in validators:
        problems = []
        for where, inst, schema in items:
            problems += ["%s %s" % (where, e) for e in first_errors(v, inst, schema)]
            if len(problems) >= 5:
                break
        tap.ok(not problems, "%s: %s valid (%s)" % (label, kind, v.name), problems)
    for _, inst, _ in items:
        if kind == "ndjson" and not (isinstance(inst, dict) and inst.get("record") == "connection"):
            continue
        for c in inst["connections"] if kind == "json" else [inst]:
            if isinstance(c, dict):
                seen.add_conn(c)
    return items[0][1] if kind == "json" else [inst for _, inst, _ in items]


def check_pair(tap, label, doc, lines):
    """The NDJSON stream holds what the document does, record by record:
    its connections in order, then its host anomalies, then one summary
    line, the last, with the rest of the document's head."""
    recs = [l.get("record") if isinstance(l, dict) else None for l in lines]
    strip = [{k: v for k, v in l.items() if k != "record"} for l in lines if isinstance(l, dict)]

    def of(kind):
        return [l for l, r in zip(strip, recs) if r == kind]
    conns, hosts = of("connection"), of("host_anomaly")
    services, clients = of("service"), of("host")
    order = (["connection"] * len(conns) + ["host_anomaly"] * len(hosts) +
             ["service"] * len(services) + ["host"] * len(clients) + ["summary"])
    head = {k: v for k, v in doc.items()
            if k not in ("connections", "host_anomalies", "services", "hosts")}
    tap.ok(recs == order, "%s: ndjson records are connections, host anomalies, services, "
           "hosts, one summary last" % label,
           ["records: %s" % sorted(set(map(str, recs))), "count: %d" % len(recs)])
    tap.ok(conns == doc["connections"] and hosts == doc["host_anomalies"] and
           services == doc["services"] and clients == doc["hosts"] and
           strip and strip[-1] == head,
           "%s: ndjson records hold the document (%d connections, %d host anomalies, "
           "%d services, %d hosts, summary)"
           % (label, len(conns), len(hosts), len(services), len(clients)))
    return len(hosts)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--schema", required=True)
    ap.add_argument("--srcdir", required=True)
    ap.add_argument("--manifest", required=True)
    args = ap.parse_args()
    tap = Tap()
    try:
        root = json.load(open(args.schema))
    except (OSError, ValueError) as e:
        tap.ok(False, "schema parses", [str(e)])
        print("1..%d" % tap.n)
        return 1
    validators = []
    try:
        validators.append(Builtin(root))
        tap.ok(True, "built-in validator takes the schema")
    except SchemaError as e:
        tap.ok(False, "built-in validator takes the schema", [str(e)])
    try:
        validators.append(Library(root))
        tap.ok(True, "jsonschema: the schema is valid against its meta-schema")
    except ImportError:
        tap.note("python3-jsonschema not importable: built-in validator only")
    except Exception as e:  # jsonschema's SchemaError and friends
        tap.ok(False, "jsonschema: the schema is valid against its meta-schema", [str(e)])
    tap.ok(len(validators) > 0, "at least one validator works")
    check_sources(tap, root, args.srcdir)
    seen, demo, lschema = Seen(), None, line_schema(root)
    docs, host_lines = {}, 0
    for line in open(args.manifest):
        kind, path, label = line.rstrip("\n").split(" ", 2)
        out = check_output(tap, validators, lschema, kind, path, label, seen)
        if kind == "json" and out is not None:
            docs[label] = out
        elif kind == "ndjson" and out is not None and label in docs:
            host_lines += check_pair(tap, label, docs.pop(label), out)
        doc = out if kind == "json" else None
        if demo is None and doc is not None and any(
                c.get("timeline") for c in doc["connections"]):
            demo = doc
    tap.ok(host_lines > 0, "ndjson outputs held host_anomaly lines (%d)" % host_lines)
    tap.ok(seen.connections > 0, "outputs held connections (%d)" % seen.connections)
    tap.ok(seen.shapes == {"segment", "segments", "timed"},
           "outputs covered all three timeline entry shapes",
           ["seen: %s" % sorted(seen.shapes)])
    if demo is not None and validators:
        check_negative(tap, validators, lschema, demo)
    else:
        tap.ok(False, "a document with connections for the negative checks")
    print("1..%d" % tap.n)
    return 1 if tap.failed else 0


if __name__ == "__main__":
    sys.exit(main())
