using System.Globalization;
using System.Text.Json;
using Azure;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Iwrs.Domain.Audit;

namespace Iwrs.Storage.Stores;

/// <summary>
/// Signed audit checkpoints, one blob per checkpoint (<c>{studyId}/{sequence:D12}.json</c>) in their own container.
/// A blob is only ever created (<c>If-None-Match: *</c>), never overwritten; in Azure the container's time-based
/// immutability policy also stops anyone holding the account key from changing or deleting one.
/// </summary>
public sealed class AuditCheckpointStore(BlobServiceClient service, string containerName)
{
    /// <summary>Downloads at most this many checkpoint blobs at once while verifying.</summary>
    private const int ParallelDownloads = 8;

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    private readonly CreatedOnFirstUse<BlobContainerClient> _container = new(async ct =>
    {
        var container = service.GetBlobContainerClient(containerName);
        await container.CreateIfNotExistsAsync(cancellationToken: ct);
        return container;
    });

    /// <summary>What a checkpoint blob holds: the signed fields, the key id and the signature.</summary>
    public sealed record Document(string Format, string StudyId, long Sequence, string Hash, string At, string KeyId, string Signature);

    /// <summary>The container, created on first use; a failed creation is not cached.</summary>
    public Task<BlobContainerClient> GetAsync(CancellationToken ct) => _container.GetAsync(ct);

    public static Document ToDocument(SignedCheckpoint signed)
    {
        ArgumentNullException.ThrowIfNull(signed);
        var c = signed.Checkpoint;
        return new Document(AuditCheckpoint.Format, c.StudyId, c.Sequence, c.Hash, c.At.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ss.fffffffZ", CultureInfo.InvariantCulture), signed.KeyId, signed.Signature);
    }

    /// <summary>The checkpoint a blob holds, or null when it holds none (not JSON, another format, fields missing).</summary>
    public static SignedCheckpoint? FromJson(BinaryData content)
    {
        ArgumentNullException.ThrowIfNull(content);
        try
        {
            var d = content.ToObjectFromJson<Document>(Json);
            return d is { Format: AuditCheckpoint.Format, StudyId: not null, Hash: not null, KeyId: not null, Signature: not null, At: not null }
                && DateTimeOffset.TryParseExact(d.At, "yyyy-MM-ddTHH:mm:ss.fffffffZ", CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var at)
                ? new SignedCheckpoint(new AuditCheckpoint(d.StudyId, d.Sequence, d.Hash, at), d.KeyId, d.Signature)
                : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>Creates the checkpoint's blob; false when a blob of that name is already there (it is left as it is).</summary>
    public async Task<bool> CreateAsync(SignedCheckpoint signed, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(signed);
        var container = await GetAsync(ct);
        var blob = container.GetBlobClient(signed.Checkpoint.Name);
        try
        {
            await blob.UploadAsync(
                BinaryData.FromObjectAsJson(ToDocument(signed), Json),
                new BlobUploadOptions
                {
                    Conditions = new BlobRequestConditions { IfNoneMatch = ETag.All },
                    HttpHeaders = new BlobHttpHeaders { ContentType = "application/json" },
                },
                ct);
            return true;
        }
        catch (RequestFailedException e) when (e.Status == 409)
        {
            return false;
        }
    }

    /// <summary>The names of the study's checkpoint blobs, in name (so sequence) order.</summary>
    public async Task<IReadOnlyList<string>> NamesAsync(string studyId, CancellationToken ct)
    {
        var container = await GetAsync(ct);
        var names = new List<string>();
        await foreach (var item in container.GetBlobsAsync(new GetBlobsOptions { Prefix = studyId + "/" }, ct))
        {
            names.Add(item.Name);
        }

        names.Sort(StringComparer.Ordinal);
        return names;
    }

    /// <summary>Every checkpoint blob of the study with what it holds.</summary>
    public async Task<IReadOnlyList<StoredCheckpoint>> ReadAllAsync(string studyId, CancellationToken ct)
    {
        var container = await GetAsync(ct);
        var names = await NamesAsync(studyId, ct);
        var found = new StoredCheckpoint[names.Count];
        await Parallel.ForAsync(0, names.Count, new ParallelOptions { MaxDegreeOfParallelism = ParallelDownloads, CancellationToken = ct }, async (i, token) =>
        {
            try
            {
                var content = await container.GetBlobClient(names[i]).DownloadContentAsync(token);
                found[i] = new StoredCheckpoint(names[i], FromJson(content.Value.Content));
            }
            catch (RequestFailedException e) when (e.Status == 404)
            {
                // Listed, then gone before it could be read: deleted, which is what the immutability policy forbids.
                found[i] = new StoredCheckpoint(names[i], null);
            }
        });
        return found;
    }
}
