// Every physical name prod-mirror gives anything comes from this module, and this module is the only
// place that knows each layer's name rules. All functions are pure and deterministic.
//
// The one rule that keeps branches apart (issue 8): a branch is used verbatim only when the layer
// accepts it unchanged, it fits, it is not a reserved name, AND it cannot be mistaken for a derived
// name, i.e. it does not end in `-` plus HASH_LENGTH hex digits. Every other branch becomes its
// sanitised, cut form plus `-<hash8>` of the original. So verbatim names never end in `-<hex8>` and
// derived names always do: no branch can be *chosen* to land on another's name. The branch literally
// named `feature-login-1ce27709` (what `Feature/Login` maps to) is itself hashed, as is a branch named
// like the cut-and-hashed form of a long one; two derived names meet only when both the cut and the
// 32-bit hash agree, which takes a brute-force search (about 2^32 hashes), not a choice of name;
// HASH_LENGTH is the knob if that ever matters.
// The same rule runs on every layer, so it also holds for a value derived twice: the stack label is
// labelValue(stackName(branch)), and a hashed stack name gets a second hash as a label rather than
// passing through as a verbatim label another stack could forge.
// Cloud resource names always carry the hash: they live in an account-wide (S3: global) namespace where
// branch `a` + queue `b-c` and branch `a-b` + queue `c` would otherwise produce the same name.
// Stack names are lowercase because the stack's files (Pulumi.<stack>.yaml, the backend's
// <stack>.json, the run lock, .prod-mirror-out/<stack>) must stay apart on case-insensitive file
// systems too: `Main` gets a hash rather than sharing `main`'s files.
import { createHash } from "crypto";

/** Length of the hex hash that keeps sanitised or truncated names apart. */
export const HASH_LENGTH = 8;

/** Prefix of every label and annotation key prod-mirror writes. */
export const LABEL_PREFIX = "prod-mirror.dev";

/** The cluster DNS domain of in-cluster URLs (`<service>.<namespace>.svc.<domain>`) unless config sets one. */
export const DEFAULT_CLUSTER_DOMAIN = "cluster.local";

/** Thrown when a name cannot be derived; the message says what to change. */
export class NamingError extends Error {
    constructor(message: string) {
        super(message);
        this.name = "NamingError";
    }
}

interface Layer {
    /** What the name is for, as the error message says it. */
    readonly what: string;
    readonly maxLength: number;
    readonly lowercase: boolean;
    /** Matches one character the layer does not allow. */
    readonly invalid: RegExp;
    /** The allowed characters, as the error message says them. */
    readonly allowed: string;
    /** Names the layer must never hand out verbatim: they belong to something else. */
    readonly reserved?: readonly string[];
}

// Kubernetes DNS-1123 labels and every cloud name share one slug: lowercase letters, digits, hyphens.
const DNS_CHARS = { lowercase: true, invalid: /[^a-z0-9-]/, allowed: "[a-z0-9-]" } as const;
// Label values also allow dots and underscores, and keep case.
const TOKEN_CHARS = { lowercase: false, invalid: /[^A-Za-z0-9._-]/, allowed: "[A-Za-z0-9._-]" } as const;
// Stack names allow what Pulumi allows, lowercased: they name files (see the header).
const STACK_CHARS = { lowercase: true, invalid: /[^a-z0-9._-]/, allowed: "[a-z0-9._-]" } as const;

/**
 * Stacks the project ships as tracked `Pulumi.<name>.yaml` templates: `ci` is the one CI stacks
 * start from (`pulumi stack init <stack> --copy-config-from ci`). A branch with such a name is mapped
 * to its hashed form rather than refused, because `ci` is an ordinary git branch name whose owner
 * did nothing wrong; the hashed form cannot meet any other branch's stack either (see the header).
 * A unit test checks this list against the Pulumi.*.yaml files in the repository.
 */
export const RESERVED_STACKS: readonly string[] = ["ci"];

const LAYERS = {
    namespace: { what: "Kubernetes namespace name", maxLength: 63, ...DNS_CHARS },
    bucket: { what: "S3 bucket name", maxLength: 63, ...DNS_CHARS },
    queue: { what: "SQS queue name", maxLength: 80, ...DNS_CHARS },
    table: { what: "DynamoDB table name", maxLength: 255, ...DNS_CHARS },
    iam: { what: "IAM role name", maxLength: 64, ...DNS_CHARS },
    imageTag: { what: "image tag", maxLength: 128, ...DNS_CHARS },
    stack: { what: "Pulumi stack name", maxLength: 100, ...STACK_CHARS, reserved: RESERVED_STACKS },
    label: { what: "Kubernetes label value", maxLength: 63, ...TOKEN_CHARS },
} satisfies Record<string, Layer>;

/** First HASH_LENGTH hex digits of the SHA-256 of `input`. */
export function shortHash(input: string, length: number = HASH_LENGTH): string {
    return createHash("sha256").update(input, "utf8").digest("hex").slice(0, length);
}

/** Strips leading/trailing characters that are not letters or digits. */
function trimEdges(s: string): string {
    return s.replace(/^[^A-Za-z0-9]+/, "").replace(/[^A-Za-z0-9]+$/, "");
}

/**
 * Maps `raw` onto the layer's alphabet: accents are folded (`é` → `e`), every run of other
 * disallowed characters becomes one `-`, repeated separators collapse, and the edges are trimmed.
 */
function sanitise(raw: string, layer: Layer): string {
    let s = raw.normalize("NFKD").replace(/[\u0300-\u036f]/g, "");
    if (layer.lowercase) {
        s = s.toLowerCase();
    }
    s = s.replace(new RegExp(`(?:${layer.invalid.source})+`, "g"), "-").replace(/([-._])[-._]+/g, "$1");
    return trimEdges(s);
}

// The tail every derived name has, or a bare hash (a branch named like one is hashed too). Any case:
// a verbatim `x-1CE27709` would not collide today, but the rule is simpler to trust without the exception.
const DERIVED_TAIL = new RegExp(`(^|-)[0-9a-f]{${HASH_LENGTH}}$`, "i");

/**
 * The branch's part of a name, at most `budget` characters: the branch itself when the layer can
 * use it verbatim (see the header for when), otherwise its sanitised, cut form followed by
 * `-<hash8>` of the original.
 */
function branchSegment(branch: string, layer: Layer, budget: number, alwaysHash: boolean): string {
    const cleaned = sanitise(branch, layer);
    if (cleaned === "") {
        throw new NamingError(
            `cannot derive a ${layer.what} from branch ${JSON.stringify(branch)}: nothing is left after ` +
                `removing characters outside ${layer.allowed}. Use a branch name with at least one ASCII letter ` +
                `or digit, or set prod-mirror:branch to one (example: "feature-login").`,
        );
    }
    const verbatim =
        !alwaysHash && cleaned === branch && cleaned.length <= budget && !DERIVED_TAIL.test(cleaned) && !(layer.reserved ?? []).includes(cleaned);
    if (verbatim) {
        return cleaned;
    }
    // Every budget leaves room for some of the branch (the smallest, a bucket's with the longest prefix
    // and resource name, is 27), and `cleaned` starts with a letter or digit, so `head` is never empty.
    const hash = shortHash(branch);
    const head = trimEdges(cleaned.slice(0, budget - hash.length - 1));
    return `${head}-${hash}`;
}

/** What a name prefix must be, as `prefixProblem` says it. */
const PREFIX_RULE = "1 to 10 lowercase letters and digits, starting with a letter";

/**
 * Why `prefix` cannot start prod-mirror's names (prod-mirror:namePrefix), or undefined if it can.
 * No hyphen, so the prefix ends at the first `-` of every name and two prefixes never overlap; that
 * also keeps `xn--` (S3 and DNS punycode) out, since the branch part never starts with a hyphen.
 * The reserved ones would put every mirror among names that belong to someone else.
 */
export function prefixProblem(prefix: string): string | undefined {
    if (!/^[a-z][a-z0-9]{0,9}$/.test(prefix)) {
        return `expected ${PREFIX_RULE}`;
    }
    switch (prefix) {
        case "kube":
            return (
                "prefix kube would name namespaces kube-<branch>, and Kubernetes reserves kube-* for its own " +
                "(kube-system, kube-public, kube-node-lease); choose another prefix"
            );
        case "sthree":
            return "prefix sthree would name every S3 bucket sthree-..., a prefix S3 reserves, so no bucket could be created; choose another prefix";
        case "amzn":
            return "prefix amzn would name S3 buckets amzn-..., and S3 reserves amzn-s3-demo-* (branch s3-demo would hit it); choose another prefix";
        default:
            return undefined;
    }
}

/** Throws the NamingError for a prefix `prefixProblem` refuses. */
function checkPrefix(prefix: string, what: string): void {
    const problem = prefixProblem(prefix);
    if (problem !== undefined) {
        throw new NamingError(`cannot derive a ${what} from name prefix ${JSON.stringify(prefix)}: ${problem}`);
    }
}

/**
 * `prefix-<branch>`: the branch's namespace, a DNS-1123 label of at most 63 characters. Never
 * `default` or `kube-*`: the prefix is checked here too, for callers that skip the config parser.
 */
export function namespaceName(branch: string, prefix: string): string {
    const layer = LAYERS.namespace;
    checkPrefix(prefix, layer.what);
    return `${prefix}-${branchSegment(branch, layer, layer.maxLength - prefix.length - 1, false)}`;
}

/** `http://<service>:<port>`: a Service as a workload in its own namespace reaches it (the search path adds the rest). */
export function namespaceLocalUrl(service: string, port: number): string {
    return `http://${service}:${port}`;
}

/** The in-cluster URL of a Service, from names alone so that services may use each other freely. */
export function serviceUrl(service: string, namespace: string, port: number, clusterDomain: string): string {
    return `http://${service}.${namespace}.svc.${clusterDomain}:${port}`;
}

/**
 * The one host every production Ingress or HTTPRoute host becomes in a mirror: the namespace's name
 * (already a unique DNS label per mirror) under prod-mirror:previewDomain.
 */
export function previewHost(namespace: string, previewDomain: string): string {
    return `${namespace}.${previewDomain}`;
}

/** The Pulumi stack for a branch: at most 100 characters of [a-z0-9._-], never a RESERVED_STACKS name. */
export function stackName(branch: string): string {
    return branchSegment(branch, LAYERS.stack, LAYERS.stack.maxLength, false);
}

/** A label-safe form of any value (branch, owner): at most 63 characters of [A-Za-z0-9._-]. */
export function labelValue(value: string): string {
    return branchSegment(value, LAYERS.label, LAYERS.label.maxLength, false);
}

/**
 * Like `labelValue`, but a value with no usable character (an owner written in another script, say)
 * becomes `x-<hash8>` instead of an error: the label only groups, the annotation keeps the original.
 */
export function labelValueOrHash(value: string): string {
    if (sanitise(value, LAYERS.label) === "") {
        return `x-${shortHash(value)}`;
    }
    return labelValue(value);
}

/** The reference a built image is pushed as: `<server>/<repository>/<service>:<tag>`. */
export function builtImageName(server: string, repository: string, service: string, tag: string): string {
    return `${server}/${repository}/${service}:${tag}`;
}

/** The image tag `<branch-slug>-<sha7>`, at most 128 characters. */
export function imageTag(branch: string, commit: string): string {
    const sha7 = commit.slice(0, 7).toLowerCase();
    if (!/^[0-9a-f]{7}$/.test(sha7)) {
        throw new NamingError(`cannot derive an image tag: commit ${JSON.stringify(commit)} is not a hex SHA`);
    }
    const layer = LAYERS.imageTag;
    return `${branchSegment(branch, layer, layer.maxLength - 8, false)}-${sha7}`;
}

/** Kinds of per-branch cloud resource, each with its own length limit. */
export type CloudKind = "bucket" | "queue" | "table" | "iam";

// Prefixes and suffixes S3 reserves for its own names.
const S3_RESERVED = /^(xn--|sthree-|amzn-s3-demo-)|(-s3alias|--ol-s3|--x-s3|--table-s3)$/;

/**
 * `<prefix>-<branch>-<hash8>-<resource>`: the physical name of a declared cloud resource, within the
 * limits of its kind (S3 63, SQS 80, DynamoDB 255, IAM 64).
 */
export function cloudResourceName(kind: CloudKind, prefix: string, branch: string, resource: string): string {
    const layer = LAYERS[kind];
    checkPrefix(prefix, layer.what);
    const problem = resourceNameProblem(resource);
    if (problem !== undefined) {
        throw new NamingError(`cannot derive a ${layer.what} from resource name ${JSON.stringify(resource)}: ${problem}`);
    }
    // No check that this leaves room: prefixProblem caps the prefix at 10 characters and
    // resourceNameProblem the resource at MAX_RESOURCE_NAME_LENGTH, so the budget is at least
    // 63 - 10 - 24 - 2 = 27 (a unit test derives that worst case on every kind).
    const budget = layer.maxLength - prefix.length - resource.length - 2;
    const name = `${prefix}-${branchSegment(branch, layer, budget, true)}-${resource}`;
    if (kind === "bucket" && S3_RESERVED.test(name)) {
        throw new NamingError(`the S3 bucket name ${name} uses a prefix or suffix S3 reserves; rename bucket ${resource}`);
    }
    return name;
}

/** Longest declared service or cloud resource name: leaves room for prefix, branch and hash. */
export const MAX_RESOURCE_NAME_LENGTH = 24;

/**
 * Why `name` cannot name a declared service or cloud resource, or undefined if it can: a DNS-1035
 * label (lowercase letter first, then [a-z0-9-], no trailing hyphen) of at most 24 characters.
 */
export function resourceNameProblem(name: string): string | undefined {
    if (!/^[a-z]([-a-z0-9]*[a-z0-9])?$/.test(name)) {
        return "it must start with a lowercase letter, contain only [a-z0-9-] and not end with a hyphen";
    }
    if (name.length > MAX_RESOURCE_NAME_LENGTH) {
        return `it must be at most ${MAX_RESOURCE_NAME_LENGTH} characters long`;
    }
    return undefined;
}

/** The environment-variable stem of a declared name: `deal-events` → `DEAL_EVENTS`. */
export function envStem(name: string): string {
    return name.toUpperCase().replace(/[^A-Z0-9]/g, "_");
}

/** A label-safe form of an ISO timestamp, sortable as text: `2026-11-28T06:00:00.000Z` → `20261128T060000Z`. */
export function timestampLabel(iso: string): string {
    const date = new Date(iso);
    if (Number.isNaN(date.getTime())) {
        throw new NamingError(`${JSON.stringify(iso)} is not an ISO timestamp`);
    }
    return date.toISOString().replace(/\.\d{3}Z$/, "Z").replace(/[-:]/g, "");
}

/** The inverse of timestampLabel (`20261128T060000Z` → `2026-11-28T06:00:00Z`); undefined for anything else. */
export function parseTimestampLabel(label: string): string | undefined {
    const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(label);
    if (m === null) {
        return undefined;
    }
    const iso = `${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}Z`;
    return Number.isNaN(Date.parse(iso)) ? undefined : iso;
}

/**
 * An AWS tag value: at most 256 characters of letters, digits, spaces and `_.:/=+-@` (other
 * characters become `_`). Tags describe, they do not identify, so no hash is needed.
 */
export function awsTagValue(value: string): string {
    return value.replace(/[^\p{L}\p{Z}\p{N}_.:/=+\-@]/gu, "_").slice(0, 256);
}

/**
 * Why `name`, a stack name as a backend lists it (`<stack>` or `<organization>/<project>/<stack>`),
 * cannot be used, or undefined. Names read back from a backend are joined into paths
 * (`locks/<stack>.lock`, `.prod-mirror-out/<stack>`, the file backend's lock folders) and printed,
 * and a backend is only a directory or a bucket that anyone with access can write into: a listed
 * `..`, `a/../../x` or a name with a control character must be skipped, never used.
 */
export function stackNameProblem(name: string): string | undefined {
    const parts = name.split("/");
    if (parts.length !== 1 && parts.length !== 3) {
        return `expected <stack> or <organization>/<project>/<stack>, found ${parts.length} parts separated by /`;
    }
    // What Pulumi accepts in a name it lists (any case: a plain `pulumi stack init Main` is listed
    // too), not the lowercase subset stackName hands out: this only keeps paths and reports safe.
    const maxLength = LAYERS.stack.maxLength;
    for (const part of parts) {
        if (part === "" || part.length > maxLength) {
            return `each part must be 1 to ${maxLength} characters long`;
        }
        if (TOKEN_CHARS.invalid.test(part)) {
            return `each part may contain only ${TOKEN_CHARS.allowed}`;
        }
        if (part.startsWith(".")) {
            return "no part may start with a dot (. and .. name directories)";
        }
    }
    return undefined;
}

/** `name` when it is a plain stack name (no organization/project) that stackNameProblem accepts; throws otherwise. */
export function checkedStackName(name: string): string {
    const problem = stackNameProblem(name) ?? (name.includes("/") ? "it is qualified with an organization/project; only the stack's own name goes into a path" : undefined);
    if (problem !== undefined) {
        throw new NamingError(`stack name ${JSON.stringify(name)} cannot be used in a file path: ${problem}`);
    }
    return name;
}
