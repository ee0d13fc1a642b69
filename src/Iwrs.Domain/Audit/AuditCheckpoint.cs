using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Iwrs.Domain.Audit;

/// <summary>
/// The encoding both the record hash and the checkpoint signature are computed over: each field as its length in
/// UTF-16 code units (decimal), ':', then the value; a null as "-1:". No two different field lists encode alike.
/// </summary>
internal static class LengthPrefixed
{
    public static void Append(StringBuilder text, string? value)
    {
        if (value is null)
        {
            text.Append("-1:");
            return;
        }

        text.Append(value.Length.ToString(CultureInfo.InvariantCulture)).Append(':').Append(value);
    }
}

/// <summary>
/// A signed statement that a study's audit chain had reached <see cref="Sequence"/> with head hash <see cref="Hash"/>
/// at <see cref="At"/> (UTC). Kept where the table's writers cannot rewrite it, it pins every record up to that
/// sequence: a chain that is shorter, or that carries another hash at that sequence, was altered.
/// </summary>
public sealed record AuditCheckpoint(string StudyId, long Sequence, string Hash, DateTimeOffset At)
{
    /// <summary>The first signed field, so a checkpoint signature can never be taken for a signature of anything else.</summary>
    public const string Format = "iwrs-audit-checkpoint/1";

    /// <summary>The blob name: one per study and sequence, zero-padded so names sort by sequence.</summary>
    public string Name => NameOf(StudyId, Sequence);

    public static string NameOf(string studyId, long sequence) =>
        studyId + "/" + sequence.ToString("D12", CultureInfo.InvariantCulture) + ".json";

    /// <summary>UTF-8 of the length-prefixed fields: format, study id, sequence, hash, time (yyyy-MM-ddTHH:mm:ss.fffffffZ).</summary>
    public byte[] SignedBytes()
    {
        var text = new StringBuilder();
        LengthPrefixed.Append(text, Format);
        LengthPrefixed.Append(text, StudyId);
        LengthPrefixed.Append(text, Sequence.ToString(CultureInfo.InvariantCulture));
        LengthPrefixed.Append(text, Hash);
        LengthPrefixed.Append(text, At.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ss.fffffffZ", CultureInfo.InvariantCulture));
        return Encoding.UTF8.GetBytes(text.ToString());
    }
}

/// <summary>A checkpoint with the id of the key that signed it and its ECDSA P-256 / SHA-256 signature (DER, base64).</summary>
public sealed record SignedCheckpoint(AuditCheckpoint Checkpoint, string KeyId, string Signature)
{
    /// <summary>Signs with <paramref name="key"/>, an ECDSA P-256 private key.</summary>
    public static SignedCheckpoint Sign(AuditCheckpoint checkpoint, ECDsa key)
    {
        ArgumentNullException.ThrowIfNull(checkpoint);
        ArgumentNullException.ThrowIfNull(key);
        var signature = key.SignData(checkpoint.SignedBytes(), HashAlgorithmName.SHA256, DSASignatureFormat.Rfc3279DerSequence);
        return new SignedCheckpoint(checkpoint, SigningKeys.KeyIdOf(key.ExportSubjectPublicKeyInfo()), Convert.ToBase64String(signature));
    }
}

/// <summary>
/// The public keys checkpoints may be signed with, by key id (the current one and any previous ones, so keys can
/// rotate without old checkpoints turning invalid). A key id is the first 16 hex digits of SHA-256 over the key's
/// DER SubjectPublicKeyInfo.
/// </summary>
public sealed class SigningKeys
{
    private readonly Dictionary<string, byte[]> _byId;

    private SigningKeys(Dictionary<string, byte[]> byId) => _byId = byId;

    /// <summary>Key id to DER SubjectPublicKeyInfo.</summary>
    public IReadOnlyDictionary<string, byte[]> ById => _byId;

    public static string KeyIdOf(ReadOnlySpan<byte> subjectPublicKeyInfo) =>
        Convert.ToHexStringLower(SHA256.HashData(subjectPublicKeyInfo))[..16];

    /// <summary>The keys from their DER SubjectPublicKeyInfo; each must be an ECDSA P-256 public key.</summary>
    public static Result<SigningKeys> From(IEnumerable<byte[]> subjectPublicKeyInfos)
    {
        var byId = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        var index = 0;
        foreach (var spki in subjectPublicKeyInfos)
        {
            if (!IsP256PublicKey(spki))
            {
                return new DomainError("validation-failed", $"Public key {index} is not an ECDSA P-256 SubjectPublicKeyInfo.");
            }

            byId[KeyIdOf(spki)] = spki;
            index++;
        }

        return new SigningKeys(byId);
    }

    /// <summary>Whether <paramref name="signed"/> carries a valid signature by one of these keys.</summary>
    public bool Verifies(SignedCheckpoint signed)
    {
        ArgumentNullException.ThrowIfNull(signed);
        if (!_byId.TryGetValue(signed.KeyId, out var spki))
        {
            return false;
        }

        var signature = new byte[signed.Signature.Length];
        if (!Convert.TryFromBase64String(signed.Signature, signature, out var length))
        {
            return false;
        }

        using var key = ECDsa.Create();
        key.ImportSubjectPublicKeyInfo(spki, out _);
        return key.VerifyData(signed.Checkpoint.SignedBytes(), signature.AsSpan(0, length), HashAlgorithmName.SHA256, DSASignatureFormat.Rfc3279DerSequence);
    }

    /// <summary>Whether <paramref name="spki"/> is a DER SubjectPublicKeyInfo of an ECDSA key on P-256.</summary>
    public static bool IsP256PublicKey(byte[] spki)
    {
        try
        {
            using var key = ECDsa.Create();
            key.ImportSubjectPublicKeyInfo(spki, out var read);
            return read == spki.Length && key.ExportParameters(false).Curve.Oid.Value == ECCurve.NamedCurves.nistP256.Oid.Value;
        }
        catch (CryptographicException)
        {
            return false;
        }
    }
}

/// <summary>
/// One blob found in the checkpoint container under a study's prefix: its name and what it held, or null when it
/// held no readable checkpoint (an attacker may write anything there).
/// </summary>
public sealed record StoredCheckpoint(string Name, SignedCheckpoint? Signed);

/// <summary>What verification checks the chain against besides its own hashes.</summary>
/// <param name="Checkpoints">Every checkpoint blob of the study.</param>
/// <param name="Keys">The keys a checkpoint may be signed with.</param>
/// <param name="StudyHasData">The study exists (it has rows), so its trail cannot be empty: creating it was audited.</param>
public sealed record AuditEvidence(IReadOnlyList<StoredCheckpoint> Checkpoints, SigningKeys Keys, bool StudyHasData);
