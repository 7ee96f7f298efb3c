// Types of the Gatehouse browser SDK (gatehouse.js; docs/browser-sdk.md).

export interface User {
  id: string
  email: string
  email_verified: boolean
  disabled: boolean
  has_password: boolean
  created_at: string
  updated_at: string
}

export interface SessionInfo {
  id: string
  created_at: string
  last_seen_at: string
  expires_at: string
  idle_expires_at: string
  auth_time: string
  amr: string[]
  ip: string
  user_agent: string
  current?: boolean
}

/** What GET /v1/session answers. */
export interface Session {
  user: User
  session: SessionInfo
}

export interface Passkey {
  id: string
  name: string
  created_at: string
  last_used_at: string | null
  backup_eligible: boolean
  backup_state: boolean
  transports: string[]
  aaguid: string
  attachment?: string
  amr: string
}

export interface ClientOptions {
  /** The Gatehouse base URL, e.g. "https://auth.example.com". */
  issuer: string
  /** The first-party client id (default "gatehouse"). */
  clientId?: string
  /** Seconds before expiry at which the access token is refreshed (default 30). */
  refreshMargin?: number
  /** The BroadcastChannel name shared by the tabs (default "gatehouse"). */
  channel?: string
}

export type LogoutScope = 'local' | 'others' | 'global'

/** An error answer of the server (`code` is its stable `error` code), or "network_error". */
export class GatehouseError extends Error {
  constructor(code: string, status: number, description?: string, body?: Record<string, unknown>)
  readonly code: string
  readonly status: number
  readonly description: string
  /** The whole error body, e.g. `mfa_token` and `methods` of "mfa_required". */
  readonly body: Record<string, unknown>
}

export interface Client {
  signIn(credentials: { email: string; password: string }): Promise<Session>
  signUp(credentials: { email: string; password: string }): Promise<Session>
  /** Ends this session ("local", default), the user's other sessions, or all of them. */
  signOut(scope?: LogoutScope): Promise<void>
  /** The current session, or null when signed out. */
  session(): Promise<Session | null>
  /** fetch with the access token as a Bearer header; refreshed before expiry, one retry on 401. */
  fetch(input: RequestInfo | URL, init?: RequestInit): Promise<Response>
  /** Called with the session on sign-in and null on sign-out, in every tab. */
  onChange(callback: (session: Session | null) => void): () => void
  /** Exchanges a legacy issuer's token (POST /v1/exchange) for a session. */
  exchange(legacyToken: string): Promise<Session>
  /** Registers a passkey for the signed-in user (needs a recent sign-in). */
  registerPasskey(name?: string): Promise<Passkey>
  /** Signs in with a discoverable passkey. */
  signInWithPasskey(): Promise<Session>
}

export function createClient(options: ClientOptions): Client
