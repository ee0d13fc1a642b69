namespace Iwrs.Domain.Access;

/// <summary>
/// One role held by one user in one study, at one site for site-scoped roles (<see cref="SiteId"/> is null
/// otherwise). Administrators hold their role outside any study (<see cref="StudyId"/> is null).
/// </summary>
public sealed record RoleAssignment(string UserId, Role Role, string? StudyId, string? SiteId)
{
    /// <summary>Validates a grant: identifiers well formed, a site exactly when the role is site-scoped.</summary>
    public static Result<RoleAssignment> Create(string? userId, string? roleName, string? studyId, string? siteId)
    {
        var errors = new List<FieldError>();
        if (!Identifiers.IsValid(userId, 128))
        {
            errors.Add(new FieldError("userId", "must be 1 to 128 characters: ASCII letters, digits, '-', '_' or '.'."));
        }

        if (!Roles.TryParse(roleName, out var role))
        {
            errors.Add(new FieldError("role", "must be one of: " + string.Join(", ", Roles.All.Select(r => r.Name())) + "."));
        }
        else if (role == Role.Administrator && studyId is not null)
        {
            errors.Add(new FieldError("role", "administrator is granted for the whole system, not in a study."));
        }
        else if (role != Role.Administrator && studyId is null)
        {
            errors.Add(new FieldError("role", "only administrator is granted outside a study."));
        }
        else if (role.IsSiteScoped() && siteId is null)
        {
            errors.Add(new FieldError("siteId", $"is required for {role.Name()}."));
        }
        else if (!role.IsSiteScoped() && siteId is not null)
        {
            errors.Add(new FieldError("siteId", $"must be omitted: {role.Name()} covers the whole study."));
        }

        if (siteId is not null && !Identifiers.IsValid(siteId))
        {
            errors.Add(new FieldError("siteId", $"must be {Identifiers.Rule}."));
        }

        return errors.Count > 0
            ? DomainError.Validation(errors, "The role assignment is not valid.")
            : new RoleAssignment(userId!, role, studyId, siteId);
    }
}
