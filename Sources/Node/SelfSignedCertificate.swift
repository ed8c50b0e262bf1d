// SelfSignedCertificate.swift — the certificate a first run uses when none is configured.
//
// Generated once into DATA/tls/ (RSA 2048 for the widest client support, SHA-256, ten years,
// subjectAltName = the node's host name), key file 0600. Production sites configure their own.

#if canImport(Glibc)
import Glibc
#endif
import Crypto
import _CryptoExtras
import X509
import SwiftASN1
import Foundation

public enum SelfSignedCertificate {
    /// Returns (certificate path, key path), creating them if missing.
    public static func ensure(directory: String, hostname: String) throws -> (String, String) {
        let certificatePath = directory + "/cert.pem"
        let keyPath = directory + "/key.pem"
        if access(certificatePath, R_OK) == 0 && access(keyPath, R_OK) == 0 {
            return (certificatePath, keyPath)
        }
        if mkdir(directory, 0o700) != 0 && errno != EEXIST {
            throw ConfigurationFailure("cannot create \(directory): \(String(cString: strerror(errno)))")
        }
        let key = try _RSA.Signing.PrivateKey(keySize: .bits2048)
        let name = try DistinguishedName {
            CommonName(hostname)
            OrganizationName("Gatehouse self-signed")
        }
        let now = Date()
        let certificate = try Certificate(
            version: .v3,
            serialNumber: Certificate.SerialNumber(),
            publicKey: Certificate.PublicKey(key.publicKey),
            notValidBefore: now.addingTimeInterval(-3600),
            notValidAfter: now.addingTimeInterval(3650 * 86400),
            issuer: name,
            subject: name,
            signatureAlgorithm: .sha256WithRSAEncryption,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.notCertificateAuthority)
                KeyUsage(digitalSignature: true, keyEncipherment: true)
                try ExtendedKeyUsage([.serverAuth])
                SubjectAlternativeNames([.dnsName(hostname)])
            },
            issuerPrivateKey: Certificate.PrivateKey(key))
        let certificatePEM = try certificate.serializeAsPEM().pemString + "\n"
        try write(key.pemRepresentation + "\n", to: keyPath, mode: 0o600)
        try write(certificatePEM, to: certificatePath, mode: 0o644)
        return (certificatePath, keyPath)
    }

    static func write(_ text: String, to path: String, mode: mode_t) throws {
        let temporary = path + ".tmp"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode)
        guard fd >= 0 else { throw ConfigurationFailure("cannot write \(temporary)") }
        let bytes = Array(text.utf8)
        let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        let synced = fsync(fd) == 0
        close(fd)
        guard n == bytes.count, synced, rename(temporary, path) == 0 else { throw ConfigurationFailure("cannot write \(path)") }
    }
}

/// A start-up failure with a message for the administrator.
public struct ConfigurationFailure: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
