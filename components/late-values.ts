// Values the engine knows only later (a pushed image's digest, a queue's URL on real AWS) take part
// in the rewrite as unique placeholder strings, and go back in as Outputs before anything is
// registered. The rewrite stays plain and synchronous, production's objects are declared as soon as
// they are rendered (so a preview lists them all), and each object depends on exactly the resources
// whose values it carries.
import * as crypto from "crypto";
import * as pulumi from "@pulumi/pulumi";

export class LateValues {
    private readonly prefix = `prod-mirror-late-${crypto.randomBytes(6).toString("hex")}-`;
    private readonly late = new Map<string, pulumi.Output<string>>();

    /** A string the rewrite can place and compare: the value itself when it is a plain string. */
    placeholder(value: pulumi.Input<string>): string {
        if (typeof value === "string") {
            return value;
        }
        const key = `${this.prefix}${this.late.size}`;
        this.late.set(key, pulumi.output(value));
        return key;
    }

    /**
     * `value` with every placeholder back as its Output, at any depth. The rewrite only places values
     * whole, so a placeholder inside a longer string means a rule built a string from one: an error,
     * never a half-filled value.
     */
    fill(value: unknown): unknown {
        if (typeof value === "string") {
            const output = this.late.get(value);
            if (output !== undefined) {
                return output;
            }
            if (value.includes(this.prefix)) {
                throw new Error(`a late value was built into a longer string (${JSON.stringify(value)}): place it whole`);
            }
            return value;
        }
        if (Array.isArray(value)) {
            return value.map((v) => this.fill(v));
        }
        if (typeof value === "object" && value !== null) {
            return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, this.fill(v)]));
        }
        return value;
    }
}
