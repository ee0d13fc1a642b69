using System.Globalization;
using Azure.Core;
using Azure.Core.Pipeline;
using Azure.Data.Tables;

namespace Iwrs.Storage;

/// <summary>
/// The SDK's own retry settings for storage requests (section <c>Storage:Retry</c>). The defaults suit an interactive
/// request path: a transient failure (transport error, 408, 429, 5xx) is retried up to 4 times with exponential backoff
/// from 0.2 s, each pause capped at 5 s, and one attempt is abandoned after 10 s (the service's own limit per operation
/// is 5 s for queries and 30 s otherwise, so a hung connection is given up well before that).
/// </summary>
public sealed class StorageRetryOptions
{
    /// <summary>Retries after the first attempt; 0 disables retrying. Default 4.</summary>
    public int MaxRetries { get; set; } = 4;

    /// <summary>First backoff delay, doubled per retry with jitter. Default 200 ms.</summary>
    public TimeSpan Delay { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>Cap on any single backoff delay. Default 5 s.</summary>
    public TimeSpan MaxDelay { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Time allowed for one attempt (send and read the answer). Default 10 s.</summary>
    public TimeSpan NetworkTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Every invalid setting, named under <paramref name="prefix"/>; empty when all are fine.</summary>
    public IReadOnlyList<string> Validate(string prefix)
    {
        var maximum = TimeSpan.FromDays(1);
        var errors = new List<string>();
        if (MaxRetries is < 0 or > 100)
        {
            errors.Add(Describe($"{prefix}MaxRetries must be between 0 and 100 (was {MaxRetries})."));
        }

        if (Delay < TimeSpan.Zero || Delay > maximum)
        {
            errors.Add(Describe($"{prefix}Delay must be between 0 and 1 day (was {Delay})."));
        }

        if (MaxDelay <= TimeSpan.Zero || MaxDelay > maximum)
        {
            errors.Add(Describe($"{prefix}MaxDelay must be positive and at most 1 day (was {MaxDelay})."));
        }
        else if (Delay > MaxDelay)
        {
            errors.Add(Describe($"{prefix}Delay ({Delay}) must not exceed {prefix}MaxDelay ({MaxDelay})."));
        }

        if (NetworkTimeout <= TimeSpan.Zero || NetworkTimeout > maximum)
        {
            errors.Add(Describe($"{prefix}NetworkTimeout must be positive and at most 1 day (was {NetworkTimeout})."));
        }

        return errors;
    }

    private static string Describe(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}

/// <summary>
/// Builds the SDK's clients the one way Iwrs uses them: over the caller's <see cref="HttpClient"/> (whose logging the
/// app removes), with the SDK's retry options from settings, and with Azure.Core's own request logging and tracing off.
/// Request URLs carry row keys and filters — a site's shelf of one kit type is unblinded data — so no log line or
/// trace span may hold them.
/// </summary>
public static class StorageClients
{
    public static TableClientOptions Options(HttpClient http, StorageRetryOptions retry) =>
        Configure(new TableClientOptions(), http, retry);

    /// <summary>Our transport and retry settings, and the SDK's request logging and tracing off, on any Azure SDK client's options.</summary>
    public static T Configure<T>(T options, HttpClient http, StorageRetryOptions retry)
        where T : ClientOptions
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(http);
        ArgumentNullException.ThrowIfNull(retry);
        options.Transport = new HttpClientTransport(http);
        options.Retry.Mode = RetryMode.Exponential;
        options.Retry.MaxRetries = retry.MaxRetries;
        options.Retry.Delay = retry.Delay;
        options.Retry.MaxDelay = retry.MaxDelay;
        options.Retry.NetworkTimeout = retry.NetworkTimeout;
        options.Diagnostics.IsLoggingEnabled = false;
        options.Diagnostics.IsLoggingContentEnabled = false;
        options.Diagnostics.IsDistributedTracingEnabled = false;
        return options;
    }

    /// <summary><c>UseDevelopmentStorage=true</c>, an account-key string, or an explicit <c>TableEndpoint=…</c> with AccountName/AccountKey.</summary>
    public static TableServiceClient FromConnectionString(string connectionString, HttpClient http, StorageRetryOptions retry) =>
        new(connectionString, Options(http, retry));

    /// <summary>The account's table endpoint reached with Microsoft Entra (a managed identity in Azure).</summary>
    public static TableServiceClient FromEndpoint(Uri endpoint, TokenCredential credential, HttpClient http, StorageRetryOptions retry) =>
        new(endpoint, credential, Options(http, retry));

    /// <summary>Why <paramref name="connectionString"/> cannot be used, or null. The answer never contains the key.</summary>
    public static string? CheckConnectionString(string connectionString)
    {
        try
        {
            using var http = new HttpClient();
            var service = FromConnectionString(connectionString, http, new StorageRetryOptions());
            return service.Uri.IsAbsoluteUri ? null : "it names no table endpoint.";
        }
        catch (Exception e) when (e is FormatException or ArgumentException or InvalidOperationException)
        {
            return "it is not a storage connection string the SDK accepts (" + e.GetType().Name + ").";
        }
    }

    /// <summary>
    /// Proves storage answers and accepts our credentials with the cheapest authorized call there is: one page of
    /// Query Tables with <c>$top=1</c>.
    /// </summary>
    public static async Task PingAsync(this TableServiceClient service, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(service);
        await foreach (var _ in service.QueryAsync(filter: (string?)null, maxPerPage: 1, cancellationToken: ct).AsPages(pageSizeHint: 1).WithCancellation(ct))
        {
            return;
        }
    }
}

/// <summary>The blob clients, built like the table clients: same transport, retry settings, and no SDK logging or tracing.</summary>
public static class BlobClients
{
    public static Azure.Storage.Blobs.BlobClientOptions Options(HttpClient http, StorageRetryOptions retry) =>
        StorageClients.Configure(new Azure.Storage.Blobs.BlobClientOptions(), http, retry);

    /// <summary>The blob service of the same account a connection string names (Azurite's too).</summary>
    public static Azure.Storage.Blobs.BlobServiceClient FromConnectionString(string connectionString, HttpClient http, StorageRetryOptions retry) =>
        new(connectionString, Options(http, retry));

    /// <summary>The account's blob endpoint reached with Microsoft Entra (a managed identity in Azure).</summary>
    public static Azure.Storage.Blobs.BlobServiceClient FromEndpoint(Uri endpoint, TokenCredential credential, HttpClient http, StorageRetryOptions retry) =>
        new(endpoint, credential, Options(http, retry));
}
