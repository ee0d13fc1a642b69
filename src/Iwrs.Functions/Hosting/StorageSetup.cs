using Azure.Identity;
using Iwrs.Domain.Studies;
using Iwrs.Functions.Errors;
using Iwrs.Storage.Stores;
using Iwrs.Storage.Tables;
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

    /// <summary>Default <c>iwrs</c>.</summary>
    public string TableName { get; set; } = "iwrs";

    /// <summary>Client id of a user-assigned managed identity; empty for the system-assigned one.</summary>
    public string? ManagedIdentityClientId { get; set; }

    public TableClientOptions Client { get; set; } = new();
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
            try
            {
                TableStorageAccount.Parse(options.ConnectionString);
            }
            catch (FormatException e)
            {
                errors.Add("Storage:ConnectionString: " + e.Message);
            }
        }

        if (!string.IsNullOrWhiteSpace(options.AccountEndpoint) && !Uri.TryCreate(options.AccountEndpoint, UriKind.Absolute, out _))
        {
            errors.Add("Storage:AccountEndpoint must be an absolute URL.");
        }

        if (options.TableName.Length is < 3 or > 63 || !char.IsAsciiLetter(options.TableName[0]) || !options.TableName.All(char.IsAsciiLetterOrDigit))
        {
            errors.Add("Storage:TableName must be 3-63 letters and digits, starting with a letter.");
        }

        try
        {
            options.Client.Validate();
        }
        catch (ArgumentException e)
        {
            errors.Add("Storage:Client: " + e.Message);
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}

public static class StorageSetup
{
    public static IServiceCollection AddIwrsStorage(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<StorageOptions>().Bind(configuration.GetSection(StorageOptions.Section)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<StorageOptions>, StorageOptionsValidator>();
        // Request URLs carry row keys and filters (e.g. a site's shelf of one kit type): never log them, at any level.
        services.AddHttpClient("table-storage", c => c.Timeout = Timeout.InfiniteTimeSpan).RemoveAllLoggers();
        services.AddSingleton(sp =>
        {
            var options = sp.GetRequiredService<IOptions<StorageOptions>>().Value;
            var account = !string.IsNullOrWhiteSpace(options.ConnectionString)
                ? TableStorageAccount.Parse(options.ConnectionString)
                : TableStorageAccount.ForTokenCredential(
                    new Uri(options.AccountEndpoint!),
                    new DefaultAzureCredential(new DefaultAzureCredentialOptions { ManagedIdentityClientId = options.ManagedIdentityClientId }));
            var http = sp.GetRequiredService<IHttpClientFactory>().CreateClient("table-storage");
            return new TableServiceClient(account, http, sp.GetRequiredService<TimeProvider>(), options.Client);
        });
        services.AddSingleton(sp => new IwrsTable(sp.GetRequiredService<TableServiceClient>(), sp.GetRequiredService<IOptions<StorageOptions>>().Value.TableName));
        services.AddSingleton(sp => new StudyStore(sp.GetRequiredService<IwrsTable>(), json => System.Text.Json.JsonSerializer.Deserialize<StudyDefinition>(json, JsonBody.SerializerOptions)));
        services.AddSingleton<RoleAssignmentStore>();
        return services;
    }
}
