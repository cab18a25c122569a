/**
 * The shell scripts both drivers run on hosts (through SSM's AWS-RunShellScript, or bash on this
 * machine for the local driver). Each fetches nothing but the artifact and hands the rest to the
 * release's own `deploy/src/host/host.ts`, so what a host does is the same code in both drivers.
 * Secrets never appear in a script: hosts read them from their source themselves.
 */
import type { StoredArtifact } from './driver.ts'

/** A single-quoted shell word. */
export const quote = (value: string) => `'${value.replaceAll("'", `'\\''`)}'`

const preamble = (hostRoot: string) => `set -euo pipefail
R="\${NUDGE_HOST_ROOT:-${hostRoot}}"
`

/** Downloads, checks and unpacks the artifact once (a retry reuses a complete copy), then renders its environment. */
export function installScript(options: {
  hostRoot: string
  releaseId: string
  artifact: StoredArtifact
  secrets: string
}): string {
  const id = quote(options.releaseId)
  const sha256 = quote(options.artifact.sha256)
  // A release of an artifact this host already unpacked (the same commit released again) is a
  // copy of hard links: the files are never written in place, and release-env.json is made anew.
  // Copying and unpacking yield the CPU (nice) to whatever else serves on the host.
  return `${preamble(options.hostRoot)}REL="$R/releases/"${id}
mkdir -p "$R/releases"
if [ ! -f "$REL/.complete" ]; then
  IN="$R/releases/.incoming-"${id}
  rm -rf "$IN" "$IN.tgz"
  SAME=""
  for d in "$R"/releases/*/; do
    if [ -f "$d.complete" ] && [ "$(cat "$d.artifact" 2>/dev/null)" = ${sha256} ]; then SAME="$d"; break; fi
  done
  if [ -n "$SAME" ]; then
    nice -n 10 cp -al "$SAME" "$IN"
    rm -f "$IN/release-env.json" "$IN/.complete"
  else
    mkdir -p "$IN"
    nice -n 10 curl -fsS --retry 3 --max-time 900 -o "$IN.tgz" ${quote(options.artifact.url)}
    echo ${sha256}"  $IN.tgz" | sha256sum -c --quiet -
    nice -n 10 tar -xzf "$IN.tgz" -C "$IN"
    rm -f "$IN.tgz"
    echo ${sha256} > "$IN/.artifact"
  fi
  touch "$IN/.complete"
  rm -rf "$REL"
  mv "$IN" "$REL"
fi
"$REL/node_modules/.bin/node" "$REL/deploy/src/host/host.ts" install --root "$R" --release ${id} --secrets ${quote(options.secrets)}
`
}

/** Runs `host.ts <args>` from release `releaseId`, or from the host's current release. */
export function hostScript(hostRoot: string, args: string[], releaseId?: string): string {
  const words = args.map(quote).join(' ')
  const locate = releaseId
    ? `REL="$R/releases/"${quote(releaseId)}
[ -f "$REL/.complete" ] || { echo "release ${releaseId} is not installed on $(hostname)" >&2; exit 1; }`
    : `REL="$(readlink -f "$R/current" 2>/dev/null || true)"
if [ -z "$REL" ] || [ ! -f "$REL/.complete" ]; then
  echo '{"host":"'"\${NUDGE_HOST_NAME:-$(hostname)}"'","release":null,"processes":[],"ready":false,"stopped":null}'
  exit 0
fi`
  return `${preamble(hostRoot)}${locate}
"$REL/node_modules/.bin/node" "$REL/deploy/src/host/host.ts" ${words} --root "$R"
`
}

/** The JSON line host.ts printed last, or undefined. */
export function hostAnswer<T>(stdout: string): T | undefined {
  const line = stdout
    .trim()
    .split('\n')
    .reverse()
    .find((candidate) => candidate.startsWith('{'))
  if (!line) return undefined
  try {
    return JSON.parse(line) as T
  } catch {
    return undefined
  }
}
