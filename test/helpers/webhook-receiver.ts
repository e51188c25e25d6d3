/**
 * A treasury webhook endpoint (tests only): a real HTTP server on
 * 127.0.0.1 that checks each request's `X-Headframe-Signature` over the raw
 * body, keeps the events it accepted (deduplicated by id, as a receiver
 * should), and can be made to fail: answer 503, hang, or stop listening
 * altogether and come back on the same port.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http'
import type { Socket } from 'node:net'
import { verifySignature } from '../../src/webhooks/signature.js'

export interface ReceivedEvent {
  readonly id: string
  readonly type: string
  readonly created_at: string
  readonly data: Record<string, unknown>
}

export type ReceiverMode = 'ok' | 'unavailable' | 'hang'

export class WebhookReceiver {
  /** Every request, in arrival order (raw body, headers, signature valid). */
  readonly requests: { body: string; headers: IncomingMessage['headers']; signed: boolean }[] = []
  /** Accepted events, first delivery of each id. */
  readonly events: ReceivedEvent[] = []
  /** Deliveries of an id already accepted (at-least-once duplicates). */
  duplicates = 0
  mode: ReceiverMode = 'ok'
  private server: Server | undefined
  private readonly sockets = new Set<Socket>()
  private port = 0

  constructor(private readonly secret: string) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}/hooks/headframe`
  }

  /** Listens (again, on the same port after `down()`). */
  async up(): Promise<void> {
    const server = createServer((req, res) => {
      const chunks: Buffer[] = []
      req.on('data', (c: Buffer) => chunks.push(c))
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8')
        const signed = verifySignature(this.secret, body, req.headers['x-headframe-signature'] as string | undefined)
        this.requests.push({ body, headers: req.headers, signed })
        if (this.mode === 'hang') return
        if (this.mode === 'unavailable') return void res.writeHead(503).end('down for maintenance')
        if (!signed) return void res.writeHead(401).end()
        const event = JSON.parse(body) as ReceivedEvent
        if (this.events.some((e) => e.id === event.id)) this.duplicates++
        else this.events.push(event)
        res.writeHead(204).end()
      })
    })
    server.on('connection', (s) => {
      this.sockets.add(s)
      s.on('close', () => this.sockets.delete(s))
    })
    await new Promise<void>((resolve) => server.listen(this.port, '127.0.0.1', resolve))
    this.port = (server.address() as { port: number }).port
    this.server = server
  }

  /** Stops listening: connections are refused until `up()`. */
  async down(): Promise<void> {
    const server = this.server
    this.server = undefined
    if (server === undefined) return
    for (const s of this.sockets) s.destroy()
    await new Promise<void>((resolve) => server.close(() => resolve()))
  }
}
