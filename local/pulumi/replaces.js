// Reads `go mod edit -json` of a dependency's go.mod on stdin and prints its replace directives
// that point at other modules (OLD[@V]=NEW@V), one a line, for `go mod edit -replace` in a wrapper
// module. Local `=> ../dir` replaces only make sense inside that repository and are skipped: the
// wrapper requires the published module instead.
let text = "";
process.stdin.on("data", (chunk) => (text += chunk));
process.stdin.on("end", () => {
    for (const r of JSON.parse(text).Replace ?? []) {
        if (!r.New.Version) {
            continue;
        }
        const old = r.Old.Version ? `${r.Old.Path}@${r.Old.Version}` : r.Old.Path;
        console.log(`${old}=${r.New.Path}@${r.New.Version}`);
    }
});
