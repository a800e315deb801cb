/**
 * Which forwarding fields the proxy trusts: a client can write `X-Forwarded-For`, `Forwarded`,
 * `X-Real-IP` and the like into its own request, so they are dropped unless the peer the edge
 * heard from is one of the config's `trustedProxies`. docs/http.md "Forwarding fields".
 *
 * @module
 */

/** Fields that claim who the client is or how it connected; the proxy sets its own. */
export const FORWARDING_FIELDS: readonly string[] = [
  'forwarded',
  'x-forwarded-for',
  'x-forwarded-host',
  'x-forwarded-proto',
  'x-forwarded-port',
  'x-real-ip',
  'x-client-ip',
  'true-client-ip',
  'cf-connecting-ip',
]

/** One parsed address or CIDR block: 8 groups of 16 bits (IPv4 mapped into ::ffff:0:0/96). */
interface Block {
  groups: number[]
  bits: number
}

function parseIPv4(text: string): number[] | null {
  const parts = text.split('.')
  if (parts.length !== 4) return null
  const bytes: number[] = []
  for (const part of parts) {
    if (!/^\d{1,3}$/.test(part)) return null
    const n = Number(part)
    if (n > 255) return null
    bytes.push(n)
  }
  return [0, 0, 0, 0, 0, 0xffff, bytes[0]! * 256 + bytes[1]!, bytes[2]! * 256 + bytes[3]!]
}

function parseIPv6(text: string): number[] | null {
  let address = text.startsWith('[') && text.endsWith(']') ? text.slice(1, -1) : text
  const zone = address.indexOf('%')
  if (zone !== -1) address = address.slice(0, zone)
  const lastColon = address.lastIndexOf(':')
  const last = address.slice(lastColon + 1)
  if (last.includes('.')) {
    // An embedded IPv4 address (::ffff:192.0.2.1) is the last two groups.
    const v4 = parseIPv4(last)
    if (v4 === null) return null
    address = address.slice(0, lastColon + 1) + v4[6]!.toString(16) + ':' + v4[7]!.toString(16)
  }
  const halves = address.split('::')
  if (halves.length > 2) return null
  const groups = (part: string): number[] | null => {
    if (part === '') return []
    const out: number[] = []
    for (const g of part.split(':')) {
      if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return null
      out.push(parseInt(g, 16))
    }
    return out
  }
  const head = groups(halves[0]!)
  const tail = halves.length === 2 ? groups(halves[1]!) : []
  if (head === null || tail === null) return null
  const given = head.length + tail.length
  if (halves.length === 1 ? given !== 8 : given > 7) return null
  return [...head, ...new Array<number>(8 - given).fill(0), ...tail]
}

function parseAddress(text: string): number[] | null {
  return text.includes(':') ? parseIPv6(text) : parseIPv4(text)
}

/**
 * Parses an IP address or CIDR block (`203.0.113.7`, `10.0.0.0/8`, `2001:db8::/32`).
 * @returns The block, or null when the text is neither.
 */
export function parseBlock(text: string): Block | null {
  const slash = text.indexOf('/')
  const address = parseAddress(slash === -1 ? text : text.slice(0, slash))
  if (address === null) return null
  const v4 = !text.slice(0, slash === -1 ? undefined : slash).includes(':')
  const max = v4 ? 32 : 128
  let bits = max
  if (slash !== -1) {
    const suffix = text.slice(slash + 1)
    if (!/^\d{1,3}$/.test(suffix) || Number(suffix) > max) return null
    bits = Number(suffix)
  }
  return { groups: address, bits: v4 ? bits + 96 : bits }
}

function contains(block: Block, address: number[]): boolean {
  let left = block.bits
  for (let i = 0; i < 8 && left > 0; i++) {
    const take = Math.min(16, left)
    const mask = (0xffff << (16 - take)) & 0xffff
    if (((block.groups[i]! ^ address[i]!) & mask) !== 0) return false
    left -= take
  }
  return true
}

/**
 * A test for "is this peer one of the trusted proxies", compiled from the config's list.
 *
 * @param list IP addresses and CIDR blocks (validated by the config schema).
 * @returns A predicate over a peer address; always false for an empty list.
 *
 * @example Usage
 * ```ts
 * import { trustedPeer } from './forwarding.ts'
 * const trusted = trustedPeer(['10.0.0.0/8', '2001:db8::1'])
 * if (!trusted('10.1.2.3') || trusted('11.0.0.1') || !trusted('2001:db8::1')) throw new Error()
 * ```
 */
export function trustedPeer(list: readonly string[]): (peer: string | null | undefined) => boolean {
  const blocks = list.map(parseBlock).filter((b): b is Block => b !== null)
  if (blocks.length === 0) return () => false
  return (peer) => {
    if (typeof peer !== 'string') return false
    const address = parseAddress(peer.trim())
    return address !== null && blocks.some((block) => contains(block, address))
  }
}
