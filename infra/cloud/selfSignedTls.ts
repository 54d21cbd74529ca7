/**
 * SelfSignedTls: a certificate for a gateway without a provided one (dev and preview stacks),
 * naming the gateway's address and domain. Clients must trust it explicitly; the readiness probe
 * does, with this certificate as its only CA. Renewed by `pulumi up` a month before it expires.
 */
import * as pulumi from "@pulumi/pulumi";
import * as tls from "@pulumi/tls";

export interface SelfSignedTlsArgs {
  /** Host names the certificate is for (gateway.domain). */
  dnsNames: pulumi.Input<string>[];
  /** Addresses the certificate is for (the gateway's public IP). */
  ipAddresses: pulumi.Input<string>[];
  /** @default 8760 (one year) */
  validityHours?: number;
}

export class SelfSignedTls extends pulumi.ComponentResource {
  readonly certificatePem: pulumi.Output<string>;
  /** Secret. */
  readonly privateKeyPem: pulumi.Output<string>;

  constructor(name: string, args: SelfSignedTlsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("llm-fleet:cloud:SelfSignedTls", name, {}, opts);
    const key = new tls.PrivateKey(`${name}-key`, { algorithm: "ECDSA", ecdsaCurve: "P256" }, { parent: this });
    const cert = new tls.SelfSignedCert(
      `${name}-cert`,
      {
        privateKeyPem: key.privateKeyPem,
        subject: { commonName: "llm-fleet gateway", organization: "llm-fleet" },
        dnsNames: args.dnsNames,
        ipAddresses: args.ipAddresses,
        validityPeriodHours: args.validityHours ?? 8760,
        earlyRenewalHours: 720,
        allowedUses: ["digital_signature", "key_encipherment", "server_auth"],
      },
      { parent: this },
    );
    this.certificatePem = cert.certPem;
    this.privateKeyPem = pulumi.secret(key.privateKeyPem);
    this.registerOutputs({ certificatePem: this.certificatePem });
  }
}
