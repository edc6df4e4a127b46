/**
 * Envoy version profiles: the wire-visible ext_proc behaviour changes between
 * 1.31 and 1.37 (reference §0.1), reduced to the switches the emulator needs.
 */
export type EnvoyVersionProfile = '1.31' | '1.32-1.33' | '1.34' | '1.35-1.36' | '1.37+';

export interface EnvoyFeatures {
  profile: EnvoyVersionProfile;
  /** 1.32+: STREAMED bodies may be sent before the headers reply (`send_body_without_waiting_for_header_response`). */
  sendBodyWithoutWaiting: boolean;
  /** 1.34+: `protocol_config` on the first message of the call. */
  protocolConfig: boolean;
  /** 1.34+: FULL_DUPLEX_STREAMED body mode exists. */
  fullDuplexStreamed: boolean;
  /** 1.35+: a spurious reply fails the request unless failure_mode_allow (earlier: always ignored). */
  spuriousFailsClosed: boolean;
  /** 1.37+: the call is closed right after the last expected reply (not for BUFFERED/BUFFERED_PARTIAL). */
  earlyClose: boolean;
}

/**
 * Accepts a profile name ('1.35-1.36', '1.37+') or any single version ('1.33',
 * '1.39.0'); versions before 1.31 are refused because observability mode,
 * deferred close and the 504 timeout status all date from 1.31.
 */
export function envoyFeatures(version: string): EnvoyFeatures {
  const match = /^1\.(\d+)/.exec(version.trim());
  if (!match) throw new Error(`unknown Envoy version profile "${version}"`);
  const minor = Number(match[1]);
  if (minor < 31) throw new Error(`Envoy ${version} predates the oldest emulated profile (1.31)`);
  const profile: EnvoyVersionProfile = minor >= 37 ? '1.37+' : minor >= 35 ? '1.35-1.36' : minor === 34 ? '1.34' : minor >= 32 ? '1.32-1.33' : '1.31';
  return {
    profile,
    sendBodyWithoutWaiting: minor >= 32,
    protocolConfig: minor >= 34,
    fullDuplexStreamed: minor >= 34,
    spuriousFailsClosed: minor >= 35,
    earlyClose: minor >= 37,
  };
}
