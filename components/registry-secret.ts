import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";

export interface RegistrySecretArgs {
    namespace: pulumi.Input<string>;
    /** Registry host[:port], as image references spell it. */
    server: pulumi.Input<string>;
    username: pulumi.Input<string>;
    /** Read with requireSecret; kept secret here whatever the caller passes. */
    password: pulumi.Input<string>;
    /** Labels for both objects. Default: none. */
    labels?: Record<string, string>;
    /** Annotations for the ServiceAccount (a workload identity's role). Default: none. */
    serviceAccountAnnotations?: Record<string, string>;
}

/** The `.dockerconfigjson` document for one registry, as the kubelet reads it. */
export function dockerConfigJson(server: string, username: string, password: string): string {
    const auth = Buffer.from(`${username}:${password}`, "utf8").toString("base64");
    return JSON.stringify({ auths: { [server]: { username, password, auth } } });
}

/**
 * A `kubernetes.io/dockerconfigjson` Secret and the ServiceAccount the workloads run as, which lists
 * it in imagePullSecrets. The credential is a Pulumi secret from input to state to outputs, and it
 * goes only into the Secret's data: never into an annotation or a plain output.
 */
export class RegistrySecret extends pulumi.ComponentResource {
    /** Name of the pull Secret, for pod specs that list it explicitly. */
    public readonly secretName: pulumi.Output<string>;
    /** Name of the ServiceAccount the workloads run as. */
    public readonly serviceAccountName: pulumi.Output<string>;
    /** The `.dockerconfigjson` content; a secret Output. */
    public readonly dockerConfigJson: pulumi.Output<string>;

    constructor(name: string, args: RegistrySecretArgs, opts?: pulumi.ComponentResourceOptions) {
        super("prod-mirror:k8s:RegistrySecret", name, {}, opts);
        const labels = args.labels ?? {};

        this.dockerConfigJson = pulumi.secret(
            pulumi
                .all([args.server, args.username, args.password])
                .apply(([server, username, password]) => dockerConfigJson(server, username, password)),
        );
        const secret = new k8s.core.v1.Secret(
            `${name}-pull`,
            {
                metadata: { namespace: args.namespace, labels },
                type: "kubernetes.io/dockerconfigjson",
                data: { ".dockerconfigjson": this.dockerConfigJson.apply((json) => Buffer.from(json, "utf8").toString("base64")) },
            },
            { parent: this },
        );
        this.secretName = secret.metadata.name;

        const account = new k8s.core.v1.ServiceAccount(
            `${name}-workloads`,
            {
                metadata: { namespace: args.namespace, labels, ...(args.serviceAccountAnnotations === undefined ? {} : { annotations: args.serviceAccountAnnotations }) },
                imagePullSecrets: [{ name: this.secretName }],
                // The workloads never talk to the Kubernetes API.
                automountServiceAccountToken: false,
            },
            { parent: this },
        );
        this.serviceAccountName = account.metadata.name;

        this.registerOutputs({
            secretName: this.secretName,
            serviceAccountName: this.serviceAccountName,
            dockerConfigJson: this.dockerConfigJson,
        });
    }
}
