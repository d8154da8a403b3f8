// The one place that sets Pulumi mocks. They record every registration, answer like the real
// providers where the program reads an output (autonamed metadata.name, queue URLs, digests),
// and fail loudly: an unmocked call, or two resources with the same type and name, is recorded
// and makes `settle()` throw instead of turning into a hang or a silent default.
// In preview they answer as the engine does for a resource being created: the checked inputs
// only (providers autoname in Check, so autonamed names are there), no id and no field the
// provider computes at creation (URLs, ARNs, digests, secrets, status). The SDK then resolves
// those outputs as unknown, so preview tests can check that nothing relies on them.
import * as crypto from "crypto";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";

export const PROJECT = "prod-mirror";
export const STACK = "unit";

/** How the engine marks a secret value inside resource inputs (the SDK's rpc.specialSigKey/specialSecretSig). */
const SIG_KEY = "4dabf18193072939515e22adb298388d";
const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";

/** Whether a value the engine received is marked secret. */
export function isSecretValue(value: unknown): boolean {
    return typeof value === "object" && value !== null && (value as Record<string, unknown>)[SIG_KEY] === SECRET_SIG;
}

/** The value with every secret marker removed, at any depth. */
export function reveal(value: any): any {
    if (pulumi.isUnknown(value)) {
        return value;
    }
    if (isSecretValue(value)) {
        return reveal(value.value);
    }
    if (Array.isArray(value)) {
        return value.map(reveal);
    }
    if (typeof value === "object" && value !== null) {
        return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, reveal(v)]));
    }
    return value;
}

/** One resource as the engine saw it. */
export interface Registration {
    type: string;
    name: string;
    /** The inputs with secret markers removed, for assertions on content. */
    inputs: Record<string, any>;
    /** The inputs exactly as the engine received them, secret markers included. */
    rawInputs: Record<string, any>;
    /** `<provider urn>::<provider id>`, when the resource has a provider reference. */
    provider?: string;
    custom: boolean;
    /** The id the mocks answered; empty in preview, where the engine has none for a resource being created. */
    id: string;
    /** The state the mocks answered, which the program sees as the resource's outputs. */
    state: Record<string, any>;
}

function fakeHash(text: string): string {
    return crypto.createHash("sha256").update(text).digest("hex");
}

/** An IAM user's name as the bridged AWS provider autonames it in Check: the logical name plus a suffix. */
function iamUserName(name: string, inputs: Record<string, any>): string {
    return inputs.name ?? `${name}-${fakeHash(name).slice(0, 7)}`;
}

export class RecordingMocks implements pulumi.runtime.Mocks {
    readonly registrations: Registration[] = [];
    readonly failures: string[] = [];

    constructor(readonly preview: boolean = false) {}

    newResource(args: pulumi.runtime.MockResourceArgs): { id: string; state: Record<string, any> } {
        if (this.registrations.some((r) => r.type === args.type && r.name === args.name)) {
            this.failures.push(`two resources share type ${args.type} and name ${args.name}`);
        }
        const inputs = reveal(args.inputs ?? {});
        const custom = args.custom ?? true;
        const state = stateFor(args.type, args.name, inputs, custom, this.preview);
        // The mock monitor turns an empty id into "no id", which the SDK resolves as unknown in preview.
        const id = this.preview ? "" : `${args.name}-id`;
        this.registrations.push({ type: args.type, name: args.name, inputs, rawInputs: args.inputs ?? {}, provider: args.provider, custom, id, state });
        return { id, state };
    }

    call(args: pulumi.runtime.MockCallArgs): Record<string, any> {
        const message = `unmocked call ${args.token}(${JSON.stringify(args.inputs)}): the program must not call providers in unit tests, or tests/unit/mocks.ts must answer it`;
        this.failures.push(message);
        throw new Error(message);
    }

    /** Registrations of one type, optionally one name. */
    ofType(type: string, name?: string): Registration[] {
        return this.registrations.filter((r) => r.type === type && (name === undefined || r.name === name));
    }

    /** The single registration of this type and name; throws with the known names otherwise. */
    one(type: string, name: string): Registration {
        const found = this.ofType(type, name);
        if (found.length !== 1) {
            const known = this.ofType(type).map((r) => r.name);
            throw new Error(`expected one ${type} named ${name}, found ${found.length}; registered: ${known.join(", ") || "none"}`);
        }
        return found[0];
    }

    /** The metadata.name the engine answered for one Kubernetes object: its name in the cluster. */
    kubernetesName(type: string, name: string): string {
        const answered = this.one(type, name).state.metadata?.name;
        if (typeof answered !== "string") {
            throw new Error(`the mocks answered no metadata.name for ${type} ${name}`);
        }
        return answered;
    }
}

/**
 * The labels of every Kubernetes object registered and of every pod template inside one, each with
 * where it was found (`<type> <name>` or `<type> <name> pod template`).
 */
export function kubernetesLabelSets(mocks: RecordingMocks): Array<{ where: string; labels: Record<string, string> | undefined }> {
    return mocks.registrations
        .filter((r) => r.type.startsWith("kubernetes:") && r.custom)
        .flatMap((r) => {
            const sets = [{ where: `${r.type} ${r.name}`, labels: r.inputs.metadata?.labels }];
            if (r.inputs.spec?.template !== undefined) {
                sets.push({ where: `${r.type} ${r.name} pod template`, labels: r.inputs.spec.template.metadata?.labels });
            }
            return sets;
        });
}

/**
 * What a provider would return, for the outputs the program reads. In preview, only what the
 * provider's Check fills in besides the inputs (autonamed names); what it learns by creating the
 * resource is absent, as the engine leaves it unknown.
 */
function stateFor(type: string, name: string, inputs: Record<string, any>, custom: boolean, preview: boolean): Record<string, any> {
    if (type.startsWith("kubernetes:") && custom) {
        const metadata = { ...(inputs.metadata ?? {}) };
        // Autonaming as the provider does it, in Check: the logical name plus a random-looking suffix.
        metadata.name = metadata.name ?? `${name}-${fakeHash(name).slice(0, 8)}`;
        const state: Record<string, any> = { ...inputs, metadata };
        if (type === "kubernetes:batch/v1:Job" && !preview) {
            state.status = { succeeded: 1 };
        }
        return state;
    }
    if (preview) {
        // The bridged AWS provider autonames in Check too; every other computed field waits for Create.
        return type === "aws:iam/user:User" ? { ...inputs, name: iamUserName(name, inputs) } : inputs;
    }
    switch (type) {
        case "docker:index/image:Image": {
            const repo = String(inputs.imageName).replace(/:[^:/]+$/, "");
            return { ...inputs, repoDigest: `${repo}@sha256:${fakeHash(inputs.imageName)}` };
        }
        case "aws:sqs/queue:Queue":
            return { ...inputs, url: `https://sqs.us-east-1.amazonaws.com/000000000000/${inputs.name}`, arn: `arn:aws:sqs:us-east-1:000000000000:${inputs.name}` };
        case "aws:s3/bucket:Bucket":
            return { ...inputs, arn: `arn:aws:s3:::${inputs.bucket}` };
        case "aws:iam/user:User": {
            const userName = iamUserName(name, inputs);
            return { ...inputs, name: userName, arn: `arn:aws:iam::000000000000:user${inputs.path ?? "/"}${userName}` };
        }
        case "aws:iam/accessKey:AccessKey":
            // The id is the access key id (`<name>-id` here); the provider returns the secret once, at creation.
            return { ...inputs, secret: `secret-of-${name}` };
        case "aws:dynamodb/table:Table":
            return { ...inputs, arn: `arn:aws:dynamodb:us-east-1:000000000000:table/${inputs.name}` };
        default:
            return inputs;
    }
}

/** Installs fresh mocks in preview or update mode and returns them. */
export async function useMocks(preview: boolean, stack: string = STACK): Promise<RecordingMocks> {
    const mocks = new RecordingMocks(preview);
    await pulumi.runtime.setMocks(mocks, PROJECT, stack, preview);
    return mocks;
}

/**
 * Waits until every registration and output resolution the program started has finished, then
 * throws if the mocks saw anything wrong. `waitForRPCs` is the SDK's own drain used before
 * disconnecting; it is internal, so its absence is an error, not a silent skip.
 */
export async function settle(mocks: RecordingMocks): Promise<void> {
    const waitForRPCs = (pulumi.runtime as unknown as { waitForRPCs?: () => Promise<void> }).waitForRPCs;
    if (typeof waitForRPCs !== "function") {
        throw new Error("@pulumi/pulumi no longer exports runtime.waitForRPCs; tests/unit/mocks.ts needs another way to drain registrations");
    }
    await waitForRPCs();
    if (mocks.failures.length > 0) {
        throw new Error(`the mocks saw problems:\n- ${mocks.failures.join("\n- ")}`);
    }
}

/** URNs of everything registered with the mock monitor; a child's type is `<parent type>$<type>`. */
export function registeredUrns(): string[] {
    const monitor = pulumi.runtime.getMonitor() as unknown as { getRegisteredResources?: () => Map<string, unknown> };
    if (typeof monitor?.getRegisteredResources !== "function") {
        throw new Error("the mock monitor no longer lists registered resources; tests/unit/mocks.ts needs another way to read URNs");
    }
    return [...monitor.getRegisteredResources().keys()];
}

/**
 * The value of an Output (or plain Input) as a Promise. Fails instead of hanging when the value is
 * unknown, which would otherwise show up as a mocha timeout.
 */
export async function valueOf<T>(input: pulumi.Input<T>): Promise<T> {
    if (!(await isKnown(input))) {
        throw new Error("the Output's value is unknown");
    }
    return (pulumi.output(input) as unknown as { promise: () => Promise<T> }).promise();
}

/** How the engine spells an unknown value on the wire, e.g. the id in a new provider's reference during preview. */
export const UNKNOWN_ID = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

/** Whether a value the engine received is unknown: in preview, what a provider computes at creation. */
export function isUnknownValue(value: unknown): boolean {
    return pulumi.isUnknown(value);
}

/** Whether an Output's value is known: false in preview for what a provider computes at creation. */
export function isKnown<T>(input: pulumi.Input<T>): Promise<boolean> {
    return (pulumi.output(input) as unknown as { isKnown: Promise<boolean> }).isKnown;
}

/** Whether an Output (at any depth of the value) is marked secret. */
export function isSecret<T>(input: pulumi.Input<T>): Promise<boolean> {
    return pulumi.isSecret(pulumi.output(input));
}

/** Resolves every Input inside a plain object (as `pulumi.output` would) to its value. */
export function resolved<T>(input: pulumi.Input<T>): Promise<pulumi.Unwrap<T>> {
    return valueOf(pulumi.output(input) as pulumi.Output<pulumi.Unwrap<T>>);
}

/** The repository root, for tests that read project files. */
export const repoRoot = path.resolve(__dirname, "..", "..");

/** Runs `fn` once per engine mode, so every assertion holds in preview and in update. */
export function inBothModes(fn: (preview: boolean) => void): void {
    for (const preview of [false, true]) {
        describe(preview ? "in preview" : "in update", () => fn(preview));
    }
}

/**
 * Memoises an async fixture: several `it`s assert on one construction instead of rebuilding it,
 * which keeps the suite fast. The mocks a fixture made stay valid after others are installed.
 * Call it inside a `describe`: the fixture is dropped when that suite ends, because a runner that
 * keeps the test modules loaded (Stryker re-runs them in one process, each time with other code
 * switched on) would otherwise hand every later run what the first run's code built.
 */
export function once<T>(build: () => Promise<T>): () => Promise<T> {
    let result: Promise<T> | undefined;
    after(() => {
        result = undefined;
    });
    return () => (result ??= build());
}
