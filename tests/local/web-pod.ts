// The pod the local cluster's tests serve with: a private image from the local registry, pulled
// with the pod's own imagePullSecret, running under the `restricted` Pod Security level.
import { pinned, registryAddr, registryCredentials } from "./local-state";

/** Built by the images part and pushed to the local registry, which wants credentials for it. */
export const image = `${registryAddr}/prod-mirror/python:${pinned("DEBIAN_SUITE")}`;
export const PULL_SECRET = "registry";

/** The pod-level securityContext the `restricted` level asks for, as uid 65532 like the mirror's images. */
const restrictedPodSecurity = {
    runAsNonRoot: true,
    runAsUser: 65532,
    runAsGroup: 65532,
    seccompProfile: { type: "RuntimeDefault" },
};
const restrictedContainerSecurity = { allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] } };

/**
 * A pod serving `token` as its index page with `python3 -m http.server` on 8080. `Always`, so the
 * kubelet asks the registry on every pod, even when an earlier test left the image on the node.
 */
export function webPod(name: string, token: string, withSecret: boolean): object {
    return {
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name, labels: { app: name } },
        spec: {
            ...(withSecret ? { imagePullSecrets: [{ name: PULL_SECRET }] } : {}),
            securityContext: restrictedPodSecurity,
            terminationGracePeriodSeconds: 1,
            containers: [
                {
                    name: "web",
                    image,
                    imagePullPolicy: "Always",
                    command: [
                        "sh",
                        "-c",
                        'echo "$TOKEN" > /srv/index.html && exec python3 -m http.server 8080 --directory /srv',
                    ],
                    env: [{ name: "TOKEN", value: token }],
                    ports: [{ containerPort: 8080 }],
                    securityContext: restrictedContainerSecurity,
                    volumeMounts: [{ name: "srv", mountPath: "/srv" }],
                },
            ],
            volumes: [{ name: "srv", emptyDir: {} }],
        },
    };
}

/** The registry's credentials as the dockerconfigjson Secret `PULL_SECRET`, for `kubectl create -f -`. */
export function pullSecret(): object {
    const { username, password } = registryCredentials();
    return {
        apiVersion: "v1",
        kind: "Secret",
        metadata: { name: PULL_SECRET },
        type: "kubernetes.io/dockerconfigjson",
        data: {
            ".dockerconfigjson": Buffer.from(
                JSON.stringify({
                    auths: { [registryAddr]: { auth: Buffer.from(`${username}:${password}`).toString("base64") } },
                }),
            ).toString("base64"),
        },
    };
}
