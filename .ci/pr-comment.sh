#!/usr/bin/env bash
# Creates the pull request's prod-mirror comment, or updates it in place: the comment whose body
# starts with the marker (COMMENT_MARKER in .ci/mirror-report.ts) is patched, so a pull request
# carries one comment that always tells its latest run. Needs gh and GH_TOKEN (pull-requests: write).
#   bash .ci/pr-comment.sh PR_NUMBER BODY_FILE
set -euo pipefail
pr=${1:?usage: pr-comment.sh PR_NUMBER BODY_FILE}
body=${2:?usage: pr-comment.sh PR_NUMBER BODY_FILE}
marker='<!-- prod-mirror -->'
repo=${GITHUB_REPOSITORY:?GITHUB_REPOSITORY is not set: run this in a GitHub Actions job}
[ "$(head -n 1 "$body")" = "$marker" ] || { echo "$body does not start with $marker: it would never be found again" >&2; exit 1; }
# Every marked comment's id, one a line (the listing is paginated, so the filter runs per page); the
# first is ours. Read whole, not through `head`: head closing the pipe early would kill gh with
# SIGPIPE, and pipefail would fail the step.
ids=$(gh api --paginate "repos/$repo/issues/$pr/comments" \
  --jq ".[] | select(.body | startswith(\"$marker\")) | .id")
id=${ids%%$'\n'*}
if [ -n "$id" ]; then
  gh api --method PATCH "repos/$repo/issues/comments/$id" -F "body=@$body" >/dev/null
  echo "updated comment $id on pull request #$pr"
else
  gh api --method POST "repos/$repo/issues/$pr/comments" -F "body=@$body" >/dev/null
  echo "commented on pull request #$pr"
fi
