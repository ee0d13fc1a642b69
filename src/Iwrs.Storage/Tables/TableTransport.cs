using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using Polly;
using Polly.Retry;
using Polly.Timeout;

namespace Iwrs.Storage.Tables;

/// <summary>What one logical request is; the transport turns it into a fresh, signed message for every attempt.</summary>
internal sealed record TableRequest(HttpMethod Method, Uri Uri, string Operation)
{
    public byte[]? Body { get; init; }

    public string? ContentType { get; init; }

    /// <summary>Payload format for the answer. Reads ask for minimalmetadata so entities carry odata.etag and types.</summary>
    public string Accept { get; init; } = TableTransport.NoMetadata;

    public IReadOnlyList<KeyValuePair<string, string>> Headers { get; init; } = [];
}

/// <summary>
/// Sends requests through one Polly pipeline: overall timeout ⟶ retry (exponential backoff with jitter, honouring
/// Retry-After) ⟶ per-try timeout ⟶ one attempt. Each attempt builds and signs a new HttpRequestMessage, since a sent
/// message cannot be sent again and the signature covers the date. Only transient outcomes are retried: 408, 429, 500,
/// 502, 503, 504, transport exceptions and per-try timeouts; a 4xx verdict such as 409 or 412 is an answer, not a
/// fault, and the caller's cancellation always stops at once. Whatever is still transient after the last retry
/// becomes <see cref="StorageUnavailableException"/>.
/// </summary>
internal sealed class TableTransport
{
    /// <summary>What the Azure SDK sends; JSON payloads and everything used here exist since 2013-08-15.</summary>
    public const string ServiceVersion = "2019-02-02";

    public const string DateHeader = "x-ms-date";
    public const string NoMetadata = "application/json;odata=nometadata";

    /// <summary>
    /// Used for entity reads: with nometadata the service leaves <c>odata.etag</c> out of query results, and a row read
    /// by a query could then not be written back under If-Match. minimalmetadata adds the ETag and the type annotations
    /// (https://learn.microsoft.com/rest/api/storageservices/payload-format-for-table-service-operations#json-format-applicationjson-versions-2013-08-15-and-later).
    /// </summary>
    public const string MinimalMetadata = "application/json;odata=minimalmetadata";

    /// <summary>OData version headers: https://learn.microsoft.com/rest/api/storageservices/setting-the-odata-data-service-version-headers</summary>
    private const string DataServiceVersion = "3.0;NetFx";

    private readonly HttpClient _http;
    private readonly TimeProvider _time;
    private readonly TableClientOptions _options;
    private readonly ResiliencePipeline<TableResponse> _pipeline;

    public TableTransport(TableStorageAccount account, HttpClient http, TimeProvider time, TableClientOptions options)
    {
        Account = account;
        _http = http;
        _time = time;
        _options = options;
        _pipeline = BuildPipeline(options, time);
    }

    public TableStorageAccount Account { get; }

    public string BaseUrl => Account.BaseUrl;

    public async Task<TableResponse> SendAsync(TableRequest request, CancellationToken cancellationToken)
    {
        // One id for all attempts of a logical request, so the service's logs tie the retries together.
        var clientRequestId = Guid.NewGuid().ToString("D");
        TableResponse response;
        try
        {
            response = await _pipeline.ExecuteAsync(
                static (state, token) => state.Transport.SendOnceAsync(state.Request, state.ClientRequestId, token),
                (Transport: this, Request: request, ClientRequestId: clientRequestId),
                cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutRejectedException ex)
        {
            throw new StorageUnavailableException(
                string.Create(CultureInfo.InvariantCulture, $"{request.Operation} did not complete in time (per try {_options.PerTryTimeout}, overall {_options.OverallTimeout})."),
                null, null, ex);
        }
        catch (HttpRequestException ex)
        {
            throw new StorageUnavailableException(
                $"{request.Operation} could not reach table storage at {Account.TableEndpoint.Authority}: {ex.Message}",
                ex.StatusCode is { } status ? (int)status : null, null, ex);
        }
        catch (IOException ex)
        {
            throw new StorageUnavailableException($"{request.Operation} lost its connection to table storage: {ex.Message}", null, null, ex);
        }
        catch (OperationCanceledException ex) when (!cancellationToken.IsCancellationRequested)
        {
            // Not the caller's cancellation: HttpClient.Timeout fired.
            throw new StorageUnavailableException($"{request.Operation} timed out in HttpClient.", null, null, ex);
        }

        if (IsTransientStatus(response.Status))
        {
            var (code, message) = TableErrors.Parse(response.Headers, response.BodyText);
            throw new StorageUnavailableException(
                TableErrors.Describe(request.Operation + " (after retries)", response.Status, code, message), response.Status, code)
            {
                RequestId = response.Header("x-ms-request-id"),
            };
        }

        return response;
    }

    private async ValueTask<TableResponse> SendOnceAsync(TableRequest request, string clientRequestId, CancellationToken cancellationToken)
    {
        using var message = new HttpRequestMessage(request.Method, request.Uri);
        var now = _time.GetUtcNow();

        // RFC 1123, e.g. "Sat, 22 May 2021 22:49:50 GMT"; signed by Shared Key, checked against a 15-minute skew window.
        message.Headers.TryAddWithoutValidation(DateHeader, now.UtcDateTime.ToString("R", CultureInfo.InvariantCulture));
        message.Headers.TryAddWithoutValidation("x-ms-version", ServiceVersion);
        message.Headers.TryAddWithoutValidation("x-ms-client-request-id", clientRequestId);
        message.Headers.TryAddWithoutValidation("Accept", request.Accept);
        message.Headers.TryAddWithoutValidation("DataServiceVersion", DataServiceVersion);
        message.Headers.TryAddWithoutValidation("MaxDataServiceVersion", DataServiceVersion);
        foreach (var (name, value) in request.Headers)
        {
            // Without validation: ETags such as W/"datetime'2021-05-22T22%3A49%3A50Z'" are passed back verbatim.
            message.Headers.TryAddWithoutValidation(name, value);
        }

        if (request.Body is not null)
        {
            message.Content = new ByteArrayContent(request.Body);
            message.Content.Headers.TryAddWithoutValidation("Content-Type", request.ContentType ?? "application/json");
        }

        await Account.Authorizer.AuthorizeAsync(message, now, cancellationToken).ConfigureAwait(false);
        using var response = await _http.SendAsync(message, HttpCompletionOption.ResponseContentRead, cancellationToken).ConfigureAwait(false);
        var body = await response.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false);
        return TableResponse.From(response, body);
    }

    internal static bool IsTransientStatus(int status) => status is 408 or 429 or 500 or 502 or 503 or 504;

    private static ResiliencePipeline<TableResponse> BuildPipeline(TableClientOptions options, TimeProvider time)
    {
        var builder = new ResiliencePipelineBuilder<TableResponse> { TimeProvider = time, Name = "TableStorage" };
        builder.AddTimeout(options.OverallTimeout);
        if (options.MaxRetries > 0)
        {
            builder.AddRetry(new RetryStrategyOptions<TableResponse>
            {
                MaxRetryAttempts = options.MaxRetries,
                Delay = options.BaseDelay,
                MaxDelay = options.MaxDelay,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,

                // Jitter from the OS's CSPRNG: System.Random is banned here, and Polly's default uses it.
                Randomizer = static () => RandomNumberGenerator.GetInt32(int.MaxValue) / (double)int.MaxValue,
                ShouldHandle = static args => ValueTask.FromResult(ShouldRetry(args.Outcome, args.Context.CancellationToken)),
                DelayGenerator = args => ValueTask.FromResult(RetryAfter(args.Outcome, options.MaxDelay, time)),
            });
        }

        builder.AddTimeout(options.PerTryTimeout);
        return builder.Build();
    }

    internal static bool ShouldRetry(Outcome<TableResponse> outcome, CancellationToken token) => outcome switch
    {
        { Exception: HttpRequestException or IOException or TimeoutRejectedException } => true,

        // HttpClient.Timeout surfaces as a TaskCanceledException the caller did not ask for.
        { Exception: OperationCanceledException } => !token.IsCancellationRequested,
        { Exception: not null } => false,
        { Result: { } response } => IsTransientStatus(response.Status),
        _ => false,
    };

    /// <summary>
    /// The service's Retry-After on 429/503 (https://learn.microsoft.com/azure/storage/tables/scalability-targets),
    /// capped by MaxDelay; null keeps Polly's backoff.
    /// </summary>
    internal static TimeSpan? RetryAfter(Outcome<TableResponse> outcome, TimeSpan maxDelay, TimeProvider time)
    {
        if (outcome.Result is not { Status: (int)HttpStatusCode.TooManyRequests or (int)HttpStatusCode.ServiceUnavailable } response)
        {
            return null;
        }

        TimeSpan? wait = response.RetryAfterDelta
                         ?? (response.RetryAfterDate is { } date ? date - time.GetUtcNow() : null);
        if (wait is null)
        {
            return null;
        }

        return wait.Value < TimeSpan.Zero ? TimeSpan.Zero : wait.Value > maxDelay ? maxDelay : wait.Value;
    }
}
