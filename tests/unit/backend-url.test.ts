import * as assert from "assert";
import * as os from "os";
import * as path from "path";
import { backendIdentity, parseBackendUrl, redactBackendUrl } from "../../cli/backend-url";

describe("cli: backend URL", () => {
    it("reads a file:// backend's directory, ~ included, parameters dropped", () => {
        assert.deepStrictEqual(parseBackendUrl("file:///var/pm/state/?no_tmp_dir=true", "PULUMI_BACKEND_URL"), { kind: "file", url: "file:///var/pm/state/?no_tmp_dir=true", dir: "/var/pm/state" });
        assert.strictEqual((parseBackendUrl("file://~/pm", "X") as { dir: string }).dir, path.join(os.homedir(), "pm"));
    });

    it("reads an S3-compatible backend in both of gocloud's spellings", () => {
        assert.deepStrictEqual(parseBackendUrl("s3://state/team/a/?endpoint=127.0.0.1:4566&disableSSL=true&s3ForcePathStyle=true&region=us-east-1", "P"), {
            kind: "s3",
            url: "s3://state/team/a/?endpoint=127.0.0.1:4566&disableSSL=true&s3ForcePathStyle=true&region=us-east-1",
            bucket: "state",
            prefix: "team/a/",
            endpoint: "http://127.0.0.1:4566",
            region: "us-east-1",
            forcePathStyle: true,
        });
        const v2 = parseBackendUrl("s3://state?endpoint=https://minio.internal:9000/&use_path_style=true", "P");
        assert.deepStrictEqual([v2.kind, (v2 as { endpoint: string }).endpoint, (v2 as { prefix: string }).prefix, (v2 as { forcePathStyle: boolean }).forcePathStyle], ["s3", "https://minio.internal:9000", "", true]);
        const aws = parseBackendUrl("s3://state/m?region=eu-west-1", "P");
        assert.deepStrictEqual([(aws as { endpoint?: string }).endpoint, (aws as { forcePathStyle: boolean }).forcePathStyle], [undefined, false]);
        assert.strictEqual((parseBackendUrl("s3://s?endpoint=host:9000", "P") as { endpoint: string }).endpoint, "https://host:9000", "TLS unless disabled");
    });

    it("takes http(s) as Pulumi Cloud", () => {
        assert.deepStrictEqual(parseBackendUrl("https://api.pulumi.com", "P"), { kind: "cloud", url: "https://api.pulumi.com" });
    });

    it("refuses a malformed URL, naming where it came from, the value and the forms that work", () => {
        const forms = "Give one such as file:///var/lib/mirrors, s3://my-bucket/mirrors?region=eu-west-1, " +
            "s3://state?endpoint=http://127.0.0.1:4566&s3ForcePathStyle=true&region=us-east-1, or https://api.pulumi.com";
        assert.throws(() => parseBackendUrl("state-bucket", "PULUMI_BACKEND_URL"), { name: "BackendUrlError", message: `PULUMI_BACKEND_URL "state-bucket" is not a usable state backend: it has no scheme (file://, s3:// or https://). ${forms}` });
        assert.throws(() => parseBackendUrl("file://relative/dir", "PULUMI_BACKEND_URL"), { message: `PULUMI_BACKEND_URL "file://relative/dir" is not a usable state backend: a file:// backend needs an absolute path (file:///abs/dir or file://~/dir). ${forms}` });
        assert.throws(() => parseBackendUrl("s3://?region=x", "PULUMI_BACKEND_URL"), { message: /an s3:\/\/ backend names its bucket first/ });
        assert.throws(() => parseBackendUrl("gs://bucket", "PULUMI_BACKEND_URL"), { message: /not gs:\/\// });
        assert.throws(() => parseBackendUrl("s3://b?endpoint=http://", "PULUMI_BACKEND_URL"), { message: /its endpoint "http:\/\/" is not a host\[:port\]/ });
    });

    it("names one backend one way", () => {
        const id = (url: string): string => backendIdentity(parseBackendUrl(url, "P"));
        assert.strictEqual(id("s3://b/p/?region=x&s3ForcePathStyle=true"), "s3://b/p");
        assert.strictEqual(id("s3://b/p?endpoint=127.0.0.1:4566&disableSSL=true"), "s3://b/p at http://127.0.0.1:4566");
        assert.strictEqual(id("s3://b/p?endpoint=http://127.0.0.1:4566&use_path_style=true"), id("s3://b/p?endpoint=127.0.0.1:4566&disableSSL=true"));
        assert.strictEqual(id("https://api.pulumi.com/"), "https://api.pulumi.com");
    });

    it("hides a user and password in a URL", () => {
        assert.strictEqual(redactBackendUrl("https://me:secret@pulumi.example/"), "https://***@pulumi.example/");
        assert.strictEqual(redactBackendUrl("s3://bucket/p?region=x"), "s3://bucket/p?region=x");
    });
});
