using System.Security.Cryptography;
using Azure.Storage.Blobs;
using Iwrs.Domain.Audit;
using Iwrs.Functions.Features;
using Iwrs.Storage;
using Iwrs.Storage.Stores;
using Microsoft.Extensions.Options;

namespace Iwrs.Functions.Hosting;

/// <summary>Audit checkpoint settings (section <c>Audit</c>).</summary>
public sealed class AuditOptions
{
    public const string Section = "Audit";

    /// <summary>The blob container of the signed checkpoints. Default <c>audit-checkpoints</c>.</summary>
    public string CheckpointContainer { get; set; } = "audit-checkpoints";

    /// <summary>
    /// The checkpoint signing key: PEM (PKCS#8, "BEGIN PRIVATE KEY") ECDSA P-256. In Azure a Key Vault reference to
    /// secret <c>audit-signing-key</c>; locally a file under .local/ that tools/Iwrs.Local creates. Required outside
    /// Development; in Development without it each process signs with a key of its own, which a restart forgets.
    /// </summary>
    public string? SigningKey { get; set; }

    /// <summary>Public keys (PEM, "BEGIN PUBLIC KEY") of keys that signed earlier checkpoints, so a key can rotate.</summary>
    public List<string> PreviousPublicKeys { get; set; } = [];
}

public sealed class AuditOptionsValidator(IHostEnvironment environment) : IValidateOptions<AuditOptions>
{
    public ValidateOptionsResult Validate(string? name, AuditOptions options)
    {
        var errors = new List<string>();
        if (string.IsNullOrWhiteSpace(options.SigningKey))
        {
            if (!environment.IsDevelopment())
            {
                errors.Add("Audit:SigningKey is required: a PEM PKCS#8 ECDSA P-256 private key (in Azure, the Key Vault secret audit-signing-key).");
            }
        }
        else if (AuditSigning.PrivateKeyProblem(options.SigningKey) is { } problem)
        {
            errors.Add("Audit:SigningKey " + problem);
        }

        for (var i = 0; i < options.PreviousPublicKeys.Count; i++)
        {
            if (AuditSigning.PublicKeyOf(options.PreviousPublicKeys[i]) is null)
            {
                errors.Add($"Audit:PreviousPublicKeys:{i} must be a PEM ECDSA P-256 public key (BEGIN PUBLIC KEY).");
            }
        }

        // Container names: 3-63 lower-case letters, digits and single hyphens, starting and ending with a letter or digit.
        var container = options.CheckpointContainer ?? string.Empty;
        if (container.Length is < 3 or > 63 || !container.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c == '-')
            || container[0] == '-' || container[^1] == '-' || container.Contains("--", StringComparison.Ordinal))
        {
            errors.Add("Audit:CheckpointContainer must be 3-63 lower-case letters, digits and single hyphens, starting and ending with a letter or digit.");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}

/// <summary>The checkpoint signing key and the public keys a checkpoint may carry a signature of.</summary>
public sealed class AuditSigning : IDisposable
{
    private readonly ECDsa _key;

    public AuditSigning(IOptions<AuditOptions> options, ILogger<AuditSigning> log)
    {
        var o = options.Value;
        _key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        if (string.IsNullOrWhiteSpace(o.SigningKey))
        {
            log.LogWarning("Audit:SigningKey is not set: checkpoints are signed with a key of this process only, which no later process can verify. Development only.");
        }
        else
        {
            _key.ImportFromPem(o.SigningKey);
        }

        var current = _key.ExportSubjectPublicKeyInfo();
        CurrentKeyId = SigningKeys.KeyIdOf(current);
        Keys = SigningKeys.From([current, .. o.PreviousPublicKeys.Select(p => PublicKeyOf(p)!)]).Value;
    }

    public string CurrentKeyId { get; }

    public SigningKeys Keys { get; }

    public SignedCheckpoint Sign(AuditCheckpoint checkpoint) => SignedCheckpoint.Sign(checkpoint, _key);

    /// <summary>Why <paramref name="pem"/> is not a PKCS#8 ECDSA P-256 private key, or null when it is one.</summary>
    public static string? PrivateKeyProblem(string pem)
    {
        try
        {
            using var key = ECDsa.Create();
            key.ImportFromPem(pem);
            return key.ExportParameters(false).Curve.Oid.Value == ECCurve.NamedCurves.nistP256.Oid.Value
                ? null
                : "must be a key on the P-256 curve.";
        }
        catch (Exception e) when (e is CryptographicException or ArgumentException)
        {
            return "must be a PEM PKCS#8 ECDSA P-256 private key (BEGIN PRIVATE KEY).";
        }
    }

    /// <summary>The DER SubjectPublicKeyInfo of a PEM P-256 public key, or null when it is not one.</summary>
    public static byte[]? PublicKeyOf(string pem)
    {
        try
        {
            using var key = ECDsa.Create();
            key.ImportFromPem(pem);
            var spki = key.ExportSubjectPublicKeyInfo();
            return SigningKeys.IsP256PublicKey(spki) ? spki : null;
        }
        catch (Exception e) when (e is CryptographicException or ArgumentException)
        {
            return null;
        }
    }

    public void Dispose() => _key.Dispose();
}

public static class AuditSetup
{
    public static IServiceCollection AddIwrsAudit(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<AuditOptions>().Bind(configuration.GetSection(AuditOptions.Section)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<AuditOptions>, AuditOptionsValidator>();
        services.AddSingleton<AuditSigning>();
        services.AddSingleton(sp =>
        {
            var storage = sp.GetRequiredService<IOptions<StorageOptions>>().Value;
            var http = sp.GetRequiredService<IHttpClientFactory>().CreateClient(StorageSetup.HttpClientName);
            var retry = storage.Retry ?? new StorageRetryOptions();
            if (!string.IsNullOrWhiteSpace(storage.ConnectionString))
            {
                return BlobClients.FromConnectionString(storage.ConnectionString, http, retry);
            }

            return BlobClients.FromEndpoint(new Uri(storage.BlobEndpoint!), StorageSetup.Credential(storage), http, retry);
        });
        services.AddSingleton(sp => new AuditCheckpointStore(sp.GetRequiredService<BlobServiceClient>(), sp.GetRequiredService<IOptions<AuditOptions>>().Value.CheckpointContainer));
        services.AddSingleton<AuditCheckpoints>();
        return services;
    }
}
