using Azure.Data.Tables;
using Azure.Identity;
using Iwrs.Domain.Studies;
using Iwrs.Storage;
using Iwrs.Storage.Stores;
using Microsoft.Extensions.Options;

namespace Iwrs.Functions.Hosting;

/// <summary>Storage settings (section <c>Storage</c>).</summary>
public sealed class StorageOptions
{
    public const string Section = "Storage";

    /// <summary>A storage connection string (account key) or <c>UseDevelopmentStorage=true</c> for Azurite.</summary>
    public string? ConnectionString { get; set; }

    /// <summary>With no connection string: the table endpoint (https://{account}.table.core.windows.net), reached with the app's managed identity.</summary>
    public string? AccountEndpoint { get; set; }

    /// <summary>
    /// With <see cref="AccountEndpoint"/>: the blob endpoint (https://{account}.blob.core.windows.net) for the audit
    /// checkpoints. With a connection string the blob service comes from that same string.
    /// </summary>
    public string? BlobEndpoint { get; set; }

    /// <summary>Default <c>iwrs</c>.</summary>
    public string TableName { get; set; } = "iwrs";

    /// <summary>Client id of a user-assigned managed identity; empty for the system-assigned one.</summary>
    public string? ManagedIdentityClientId { get; set; }

    /// <summary>The SDK's retry options for every storage request (section <c>Storage:Retry</c>).</summary>
    public StorageRetryOptions Retry { get; set; } = new();
}

public sealed class StorageOptionsValidator : IValidateOptions<StorageOptions>
{
    public ValidateOptionsResult Validate(string? name, StorageOptions options)
    {
        var errors = new List<string>();
        if (string.IsNullOrWhiteSpace(options.ConnectionString) == string.IsNullOrWhiteSpace(options.AccountEndpoint))
        {
            errors.Add("Set exactly one of Storage:ConnectionString and Storage:AccountEndpoint.");
        }

        if (!string.IsNullOrWhiteSpace(options.ConnectionString))
        {
            if (StorageClients.CheckConnectionString(options.ConnectionString) is { } problem)
            {
                errors.Add("Storage:ConnectionString: " + problem);
            }
        }

        if (!string.IsNullOrWhiteSpace(options.AccountEndpoint)
            && !(Uri.TryCreate(options.AccountEndpoint, UriKind.Absolute, out var endpoint) && endpoint.Scheme is "https" or "http"))
        {
            errors.Add("Storage:AccountEndpoint must be an absolute http(s) URL.");
        }

        if (!string.IsNullOrWhiteSpace(options.AccountEndpoint) && string.IsNullOrWhiteSpace(options.ConnectionString)
            && !(Uri.TryCreate(options.BlobEndpoint, UriKind.Absolute, out var blob) && blob.Scheme is "https" or "http"))
        {
            errors.Add("Storage:BlobEndpoint must be an absolute http(s) URL when Storage:AccountEndpoint is used (the audit checkpoints are blobs).");
        }

        try
        {
            TableKeys.ValidateTableName(options.TableName, nameof(options.TableName));
        }
        catch (ArgumentException)
        {
            errors.Add("Storage:TableName must be 3-63 letters and digits, starting with a letter, and not 'tables'.");
        }

        errors.AddRange((options.Retry ?? new StorageRetryOptions()).Validate("Storage:Retry:"));

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}

public static class StorageSetup
{
    /// <summary>The named HttpClient the SDK sends through (tests add a counting handler under it).</summary>
    public const string HttpClientName = "table-storage";

    private static string? NullIfEmpty(string? value) => string.IsNullOrWhiteSpace(value) ? null : value;

    /// <summary>The app's managed identity (the user-assigned one when its client id is set), without SDK logging.</summary>
    public static DefaultAzureCredential Credential(StorageOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var credentialOptions = new DefaultAzureCredentialOptions { ManagedIdentityClientId = NullIfEmpty(options.ManagedIdentityClientId) };
        credentialOptions.Diagnostics.IsLoggingEnabled = false;
        return new DefaultAzureCredential(credentialOptions);
    }

    public static IServiceCollection AddIwrsStorage(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<StorageOptions>().Bind(configuration.GetSection(StorageOptions.Section)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<StorageOptions>, StorageOptionsValidator>();
        // Request URLs carry row keys and filters (e.g. a site's shelf of one kit type): never log them, at any level.
        // The SDK times each attempt itself (Storage:Retry:NetworkTimeout), so HttpClient's own timeout is off; the
        // SDK's request logging and tracing are off too (StorageClients.Options).
        services.AddHttpClient(HttpClientName, c => c.Timeout = Timeout.InfiniteTimeSpan).RemoveAllLoggers();
        services.AddSingleton(sp =>
        {
            var options = sp.GetRequiredService<IOptions<StorageOptions>>().Value;
            var http = sp.GetRequiredService<IHttpClientFactory>().CreateClient(HttpClientName);
            var retry = options.Retry ?? new StorageRetryOptions();
            if (!string.IsNullOrWhiteSpace(options.ConnectionString))
            {
                return StorageClients.FromConnectionString(options.ConnectionString, http, retry);
            }

            return StorageClients.FromEndpoint(new Uri(options.AccountEndpoint!), Credential(options), http, retry);
        });
        services.AddSingleton(sp => new IwrsTable(sp.GetRequiredService<TableServiceClient>(), sp.GetRequiredService<IOptions<StorageOptions>>().Value.TableName));
        services.AddSingleton(sp => new StudyStore(sp.GetRequiredService<IwrsTable>(), json => System.Text.Json.JsonSerializer.Deserialize<StudyDefinition>(json, RequestBody.SerializerOptions)));
        services.AddSingleton<RoleAssignmentStore>();
        services.AddSingleton<StudyWrites>();
        services.AddSingleton<RandomizationViews>();
        services.AddSingleton<Features.RandomizationQueue>();
        return services;
    }
}
