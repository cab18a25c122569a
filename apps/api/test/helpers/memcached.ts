import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import net from 'node:net'

/** Path of the memcached binary, if this machine has one (CI installs it with apt-get). */
export const memcachedBinary = (() => {
  for (const candidate of ['/usr/bin/memcached', '/usr/local/bin/memcached']) {
    try {
      execFileSync(candidate, ['-h'], { stdio: 'ignore' })
      return candidate
    } catch {}
  }
  return undefined
})()

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer()
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo
      server.close(() => resolve(port))
    })
    server.on('error', reject)
  })
}

async function waitForPort(port: number, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = net.connect({ port, host: '127.0.0.1' })
      socket.once('connect', () => {
        socket.destroy()
        resolve(true)
      })
      socket.once('error', () => resolve(false))
    })
    if (open) return
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  throw new Error(`memcached did not listen on ${port}`)
}

/** A memcached server of the test's own, on loopback, that the test can kill and restart. */
export async function startMemcached(port: number): Promise<ChildProcess> {
  if (!memcachedBinary) throw new Error('memcached is not installed')
  const child = spawn(
    memcachedBinary,
    ['-l', '127.0.0.1', '-p', String(port), '-U', '0', '-m', '16', '-u', 'nobody'],
    {
      stdio: 'ignore',
    },
  )
  await waitForPort(port)
  return child
}

export async function kill(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = new Promise((resolve) => child.once('exit', resolve))
  child.kill('SIGKILL')
  await exited
}
