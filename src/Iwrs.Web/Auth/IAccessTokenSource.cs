namespace Iwrs.Web.Auth;

/// <summary>The signed-in user's bearer token for <c>/api</c>: from Entra ID when deployed, from the development
/// token endpoint locally.</summary>
public interface IAccessTokenSource
{
    /// <summary>The token, or null when nobody is signed in.</summary>
    ValueTask<string?> GetAsync();

    /// <summary>Where to send someone who is not signed in.</summary>
    string SignInPath { get; }

    /// <summary>Where signing out goes (it ends the session there).</summary>
    string SignOutPath { get; }
}
