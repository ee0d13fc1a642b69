// Independent verifier of an Iwrs audit trail. It reads three JSON files an unblinded reader downloads from the API:
//   the trail         GET /api/studies/{studyId}/audit
//   the checkpoints   GET /api/studies/{studyId}/audit/checkpoints
//   the public keys   GET /api/audit/signing-keys (better: the keys the sponsor published elsewhere)
// and recomputes every record hash and every checkpoint signature without any Iwrs code. Usage:
//   dotnet run --project tools/Iwrs.AuditVerify -- --trail audit.json --checkpoints checkpoints.json --keys keys.json
// Prints one JSON object; exit code 0 intact, 1 not intact, 2 unusable input.
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Iwrs.AuditVerify;

/// <summary>What the verifier found: intact, or the first sequence that does not fit and why.</summary>
public sealed record Outcome(bool Intact, long RecordsChecked, long? FirstBadSequence, string? Problem, int CheckpointsChecked, long? NewestCheckpointSequence);

public static class Verifier
{
    private static readonly JsonSerializerOptions Output = new() { PropertyNamingPolicy = JsonNamingPolicy.CamelCase, WriteIndented = true };

    private const string Genesis = "0000000000000000000000000000000000000000000000000000000000000000";

    private const string CheckpointFormat = "iwrs-audit-checkpoint/1";

    private const string TimeFormat = "yyyy-MM-ddTHH:mm:ss.fffffffZ";

    public static int Main(string[] args)
    {
        ArgumentNullException.ThrowIfNull(args);
        var files = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i + 1 < args.Length; i += 2)
        {
            files[args[i]] = args[i + 1];
        }

        if (args.Length != 6 || !files.TryGetValue("--trail", out var trail) || !files.TryGetValue("--checkpoints", out var checkpoints) || !files.TryGetValue("--keys", out var keys))
        {
            Console.Error.WriteLine("usage: Iwrs.AuditVerify --trail audit.json --checkpoints checkpoints.json --keys keys.json");
            return 2;
        }

        Outcome outcome;
        try
        {
            outcome = Verify(File.ReadAllText(trail), File.ReadAllText(checkpoints), File.ReadAllText(keys));
        }
        catch (Exception e) when (e is IOException or JsonException or InvalidDataException or UnauthorizedAccessException)
        {
            Console.Error.WriteLine("cannot verify: " + e.Message);
            return 2;
        }

        Console.WriteLine(JsonSerializer.Serialize(outcome, Output));
        return outcome.Intact ? 0 : 1;
    }

    /// <summary>Checks the trail's chain, then every checkpoint against it. Throws <see cref="InvalidDataException"/> on unusable input.</summary>
    public static Outcome Verify(string trailJson, string checkpointsJson, string keysJson)
    {
        using var trail = JsonDocument.Parse(trailJson);
        using var checkpoints = JsonDocument.Parse(checkpointsJson);
        using var keys = JsonDocument.Parse(keysJson);
        var studyId = Text(checkpoints.RootElement, "studyId") ?? throw new InvalidDataException("the checkpoints file names no studyId.");
        var publicKeys = ReadKeys(keys.RootElement);

        // 1. The chain: sequences 1, 2, 3 … in order, each linked to the hash before it, each hash recomputed.
        var hashes = new List<string>();
        var previous = Genesis;
        foreach (var record in trail.RootElement.EnumerateArray())
        {
            var sequence = record.GetProperty("sequence").GetInt64();
            var expected = hashes.Count + 1L;
            var stated = Text(record, "hash") ?? throw new InvalidDataException("the trail has no hashes: export it as an unblinded reader.");
            if (sequence != expected)
            {
                return sequence < expected
                    ? Bad(hashes.Count, sequence, $"record {sequence} appears twice (again where record {expected} was expected).")
                    : Bad(hashes.Count, expected, $"record {expected} is missing (the next record is {sequence}).");
            }

            if (Text(record, "previousHash") != previous)
            {
                return Bad(hashes.Count, sequence, $"record {sequence} does not link to the record before it.");
            }

            if (RecordHash(studyId, record, previous) != stated)
            {
                return Bad(hashes.Count, sequence, $"record {sequence} was changed after it was written.");
            }

            hashes.Add(stated);
            previous = stated;
        }

        // 2. Every checkpoint, oldest first: a checkpoint of this study under its own name, a valid signature by a
        // known key, and the hash it signed at its sequence in the chain.
        var count = (long)hashes.Count;
        long covered = 0;
        long? newest = null;
        var checkedCount = 0;
        var list = checkpoints.RootElement.GetProperty("checkpoints").EnumerateArray()
            .Select(c => (Name: Text(c, "name") ?? string.Empty, Body: c.TryGetProperty("checkpoint", out var b) && b.ValueKind == JsonValueKind.Object ? b : (JsonElement?)null))
            .OrderBy(c => c.Body is { } b && b.TryGetProperty("sequence", out var s) && s.TryGetInt64(out var n) ? n : long.MaxValue)
            .ThenBy(c => c.Name, StringComparer.Ordinal);
        foreach (var (name, body) in list)
        {
            if (body is not { } c || Text(c, "format") != CheckpointFormat || !c.TryGetProperty("sequence", out var s) || !s.TryGetInt64(out var sequence)
                || Text(c, "studyId") is not { } cpStudy || Text(c, "hash") is not { } hash || Text(c, "at") is not { } at
                || Text(c, "keyId") is not { } keyId || Text(c, "signature") is not { } signature)
            {
                return Bad(count, covered + 1, $"checkpoint blob '{name}' holds no readable checkpoint.", checkedCount, newest);
            }

            if (cpStudy != studyId || name != $"{cpStudy}/{sequence.ToString("D12", CultureInfo.InvariantCulture)}.json")
            {
                return Bad(count, covered + 1, $"checkpoint blob '{name}' holds the checkpoint of {cpStudy} record {sequence}.", checkedCount, newest);
            }

            if (!SignatureValid(publicKeys, keyId, signature, Encode([CheckpointFormat, cpStudy, sequence.ToString(CultureInfo.InvariantCulture), hash, at])))
            {
                return Bad(count, sequence, $"checkpoint {sequence} has a bad signature (key id '{keyId}').", checkedCount, newest);
            }

            checkedCount++;
            if (sequence > count)
            {
                return Bad(count, count + 1, $"the chain ends at record {count}, but checkpoint {sequence} was signed at {at}: records were removed.", checkedCount, newest);
            }

            if (sequence > 0 && hashes[(int)(sequence - 1)] != hash)
            {
                return Bad(count, covered + 1, $"record {sequence} carries another hash than checkpoint {sequence} signed: a record after {covered} was changed.", checkedCount, newest);
            }

            covered = sequence;
            newest = sequence;
        }

        // A study's creation is its first record, so an exported trail of an existing study is never empty.
        if (count == 0)
        {
            return Bad(0, 1, "the trail is empty: the study's records were removed.", checkedCount, newest);
        }

        return new Outcome(true, count, null, null, checkedCount, newest);
    }

    /// <summary>
    /// SHA-256 (lower-case hex) over the length-prefixed fields: previous hash, study id, sequence, time (UTC,
    /// yyyy-MM-ddTHH:mm:ss.fffffffZ), user id, role, channel, action, target, the number of changes, then per change
    /// its field, before, after and "u"/"b" (unblinded or not), and last the reason.
    /// </summary>
    private static string RecordHash(string studyId, JsonElement r, string previousHash)
    {
        var at = r.GetProperty("at").GetDateTimeOffset().UtcDateTime.ToString(TimeFormat, CultureInfo.InvariantCulture);
        var fields = new List<string?>
        {
            previousHash, studyId, r.GetProperty("sequence").GetInt64().ToString(CultureInfo.InvariantCulture), at,
            Text(r, "userId"), Text(r, "role"), Text(r, "channel"), Text(r, "action"), Text(r, "target"),
        };
        var changes = r.TryGetProperty("changes", out var c) && c.ValueKind == JsonValueKind.Array ? c.EnumerateArray().ToList() : [];
        fields.Add(changes.Count.ToString(CultureInfo.InvariantCulture));
        foreach (var change in changes)
        {
            fields.Add(Text(change, "field"));
            fields.Add(Text(change, "before"));
            fields.Add(Text(change, "after"));
            fields.Add(change.TryGetProperty("unblinded", out var u) && u.ValueKind == JsonValueKind.True ? "u" : "b");
        }

        fields.Add(Text(r, "reason"));
        return Convert.ToHexStringLower(SHA256.HashData(Encode(fields)));
    }

    /// <summary>Each field as its length in UTF-16 code units, ':', the value; a missing value as "-1:". UTF-8 bytes of the whole.</summary>
    private static byte[] Encode(IEnumerable<string?> fields)
    {
        var text = new StringBuilder();
        foreach (var f in fields)
        {
            text.Append(f is null ? "-1:" : f.Length.ToString(CultureInfo.InvariantCulture) + ":" + f);
        }

        return Encoding.UTF8.GetBytes(text.ToString());
    }

    /// <summary>Key id (first 16 hex digits of SHA-256 over the DER SubjectPublicKeyInfo), computed here, to the key.</summary>
    private static Dictionary<string, byte[]> ReadKeys(JsonElement root)
    {
        var byId = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        foreach (var key in root.GetProperty("keys").EnumerateArray())
        {
            using var ecdsa = ECDsa.Create();
            try
            {
                ecdsa.ImportFromPem(Text(key, "publicKey") ?? throw new InvalidDataException("a key has no publicKey."));
            }
            catch (Exception e) when (e is CryptographicException or ArgumentException)
            {
                throw new InvalidDataException("a publicKey is not a PEM ECDSA public key.", e);
            }

            if (ecdsa.ExportParameters(false).Curve.Oid.Value != ECCurve.NamedCurves.nistP256.Oid.Value)
            {
                throw new InvalidDataException("a publicKey is not on the P-256 curve.");
            }

            var spki = ecdsa.ExportSubjectPublicKeyInfo();
            var id = Convert.ToHexStringLower(SHA256.HashData(spki))[..16];
            if (Text(key, "keyId") is { } stated && stated != id)
            {
                throw new InvalidDataException($"key id '{stated}' is not the id of its public key ('{id}').");
            }

            byId[id] = spki;
        }

        return byId;
    }

    /// <summary>ECDSA P-256 with SHA-256, the signature DER-encoded (RFC 3279) and base64.</summary>
    private static bool SignatureValid(Dictionary<string, byte[]> keys, string keyId, string signature, byte[] signed)
    {
        if (!keys.TryGetValue(keyId, out var spki))
        {
            return false;
        }

        byte[] der;
        try
        {
            der = Convert.FromBase64String(signature);
        }
        catch (FormatException)
        {
            return false;
        }

        using var ecdsa = ECDsa.Create();
        ecdsa.ImportSubjectPublicKeyInfo(spki, out _);
        return ecdsa.VerifyData(signed, der, HashAlgorithmName.SHA256, DSASignatureFormat.Rfc3279DerSequence);
    }

    private static string? Text(JsonElement e, string name) =>
        e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    private static Outcome Bad(long checkedCount, long sequence, string problem, int checkpoints = 0, long? newest = null) =>
        new(false, checkedCount, sequence, problem, checkpoints, newest);
}
