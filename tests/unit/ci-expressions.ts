// A small evaluator for the condition language both pipelines use in `if:` (GitHub Actions
// expressions without `${{ }}`, GitLab `rules: if:`): literals in single or double quotes,
// true/false/null, names resolved by the caller (`github.event.action`, `$CI_PIPELINE_SOURCE`), ==, !=, !, &&, ||
// and parentheses, with && binding tighter than ||, as both documents specify. It lets the tests
// check what a condition *does* for a fork's pull request instead of how it is spelled. Anything
// outside this subset (a function call, say) is an error, never a guess.

type Value = string | number | boolean | null | undefined;

const TOKEN = /\s*(?:(\(|\)|&&|\|\||==|!=|!)|'((?:[^']|'')*)'|"([^"]*)"|(\$?[A-Za-z_][A-Za-z0-9_.-]*))/y;

type Token = { op: string } | { literal: string } | { name: string };

function tokenize(text: string): Token[] {
    const tokens: Token[] = [];
    let pos = 0;
    while (text.slice(pos).trim() !== "") {
        TOKEN.lastIndex = pos;
        const m = TOKEN.exec(text);
        if (m === null) {
            throw new Error(`cannot read the condition at ${JSON.stringify(text.slice(pos, pos + 20))} in ${JSON.stringify(text)}`);
        }
        pos = TOKEN.lastIndex;
        if (m[1] !== undefined) {
            tokens.push({ op: m[1] });
        } else if (m[2] !== undefined) {
            tokens.push({ literal: m[2].replace(/''/g, "'") });
        } else if (m[3] !== undefined) {
            tokens.push({ literal: m[3] });
        } else {
            tokens.push({ name: m[4] });
        }
    }
    return tokens;
}

/** Evaluates `text` with `lookup` giving each name's value (undefined: not set). */
export function evaluate(text: string, lookup: (name: string) => Value): boolean {
    const tokens = tokenize(text);
    let i = 0;
    const isOp = (op: string): boolean => {
        const t = tokens[i];
        return t !== undefined && "op" in t && t.op === op;
    };
    const expect = (op: string): void => {
        if (!isOp(op)) {
            throw new Error(`expected ${op} at token ${i} of ${JSON.stringify(text)}`);
        }
        i++;
    };
    const truthy = (v: Value): boolean => v !== undefined && v !== null && v !== false && v !== "" && v !== 0;
    const primary = (): Value => {
        if (isOp("!")) {
            i++;
            return !truthy(primary());
        }
        if (isOp("(")) {
            i++;
            const v = or();
            expect(")");
            return v;
        }
        const t = tokens[i++];
        if (t === undefined || "op" in t) {
            throw new Error(`expected a value at token ${i - 1} of ${JSON.stringify(text)}`);
        }
        if ("literal" in t) {
            return t.literal;
        }
        const keywords: Record<string, Value> = { true: true, false: false, null: null };
        return t.name in keywords ? keywords[t.name] : lookup(t.name);
    };
    const comparison = (): Value => {
        const left = primary();
        for (const op of ["==", "!="]) {
            if (isOp(op)) {
                i++;
                const right = primary();
                // Both languages compare an unset value as the empty string / null: never equal to a set one.
                const equal = (left ?? null) === (right ?? null);
                return op === "==" ? equal : !equal;
            }
        }
        return left;
    };
    const and = (): Value => {
        let v = comparison();
        while (isOp("&&")) {
            i++;
            const right = comparison();
            v = truthy(v) ? right : v;
        }
        return v;
    };
    const or = (): Value => {
        let v = and();
        while (isOp("||")) {
            i++;
            const right = and();
            v = truthy(v) ? v : right;
        }
        return v;
    };
    const result = or();
    if (i !== tokens.length) {
        throw new Error(`unexpected token ${i} of ${JSON.stringify(text)}`);
    }
    return truthy(result);
}

/** A lookup over a nested object by dotted path: `github.event.pull_request.number`. */
export function pathLookup(context: Record<string, unknown>): (name: string) => Value {
    return (name) => {
        let v: unknown = context;
        for (const part of name.split(".")) {
            v = v === null || typeof v !== "object" ? undefined : (v as Record<string, unknown>)[part];
        }
        return v as Value;
    };
}
