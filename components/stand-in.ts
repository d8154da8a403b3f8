import * as crypto from "crypto";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";

export interface StandInArgs {
    namespace: pulumi.Input<string>;
    /** The name production's objects reference the Secret by. */
    name: string;
    /** The keys production's objects read from it. */
    keys: string[];
    labels?: Record<string, string>;
}

/** A value nobody can guess and no production system accepts: 32 random bytes, URL-safe base64. */
export function generatedValue(): string {
    return crypto.randomBytes(32).toString("base64url");
}

/**
 * A Secret production keeps outside its manifests (a vault, a sealed secret, a hand-made object)
 * and the mirror must never copy: the mirror makes its own under the same name, with a generated
 * value per key. The values are Pulumi secrets, and they are generated once: later updates keep
 * them (ignoreChanges), so pods reading them are not restarted on every `up`. A key added later
 * therefore needs a new mirror (or the Secret deleted by hand) to appear.
 */
export class StandIn extends pulumi.ComponentResource {
    public readonly secretName: pulumi.Output<string>;

    constructor(name: string, args: StandInArgs, opts?: pulumi.ComponentResourceOptions) {
        super("prod-mirror:k8s:StandIn", name, {}, opts);
        const secret = new k8s.core.v1.Secret(
            `${name}-secret`,
            {
                metadata: { name: args.name, namespace: args.namespace, labels: args.labels ?? {} },
                type: "Opaque",
                // `data`, not stringData: the provider's Check folds stringData into data, so ignoring
                // stringData would still see a new value there and replace the Secret on every up.
                data: pulumi.secret(Object.fromEntries(args.keys.map((key) => [key, Buffer.from(generatedValue(), "utf8").toString("base64")]))),
            },
            { parent: this, ignoreChanges: ["data"] },
        );
        this.secretName = secret.metadata.name;
        this.registerOutputs({ secretName: this.secretName });
    }
}
