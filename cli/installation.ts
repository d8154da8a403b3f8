// Which installation this CLI is: the value its mirrors carry as label prod-mirror.dev/installation
// and tag prod-mirror:installation, and the only one whose leftovers its `reap` may remove.
import { INSTALLATION_PATTERN, INSTALLATION_RULE } from "../components/app-spec";
import { PROJECT } from "../components/config-error";
import { shortHash } from "../components/naming";
import { backendIdentity, parseBackendUrl } from "./backend-url";

export const INSTALLATION_ENV = "PROD_MIRROR_INSTALLATION";

/**
 * PROD_MIRROR_INSTALLATION when set, else `i-<hash12>` of the backend URL and the project.
 *
 * Why those two: reap calls an object orphaned when its stack is missing from the stacks it can
 * list, and what it can list is exactly this project's stacks on this backend. So two CLIs sharing
 * backend and project see the same stacks and may clean up after each other (they derive the same
 * id on any machine), while another backend, a renamed project or a second installation on the same
 * cluster or account gets another id and never touches objects whose stacks it cannot see. A hash,
 * because the URL may hold a path or user name and a label value is short; 48 bits make an
 * accidental collision between installations negligible.
 */
export function cliInstallation(env: NodeJS.ProcessEnv): string {
    const explicit = env[INSTALLATION_ENV];
    if (explicit !== undefined && explicit !== "") {
        if (!INSTALLATION_PATTERN.test(explicit)) {
            throw new Error(`${INSTALLATION_ENV} ${JSON.stringify(explicit)} is invalid: expected ${INSTALLATION_RULE}, e.g. ${INSTALLATION_ENV}=team-a`);
        }
        return explicit;
    }
    const backend = env.PULUMI_BACKEND_URL;
    if (backend === undefined || backend === "") {
        throw new Error(
            `cannot tell which installation this is: neither ${INSTALLATION_ENV} nor PULUMI_BACKEND_URL is set. ` +
                `Set PULUMI_BACKEND_URL to the backend your stacks live on, or ${INSTALLATION_ENV}=<id> (${INSTALLATION_RULE}), e.g. ${INSTALLATION_ENV}=team-a`,
        );
    }
    return `i-${shortHash(`${PROJECT}\n${normaliseBackendUrl(backend)}`, 12)}`;
}

/** One spelling per backend (see backendIdentity): `file://~/x`, `file:///home/me/x/` and `file:///home/me/x` name the same directory. */
export function normaliseBackendUrl(url: string): string {
    return backendIdentity(parseBackendUrl(url, "PULUMI_BACKEND_URL"));
}
