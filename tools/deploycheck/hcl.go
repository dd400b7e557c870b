package deploycheck

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/function"
	"github.com/zclconf/go-cty/cty/function/stdlib"
)

// Config is a Terraform configuration directory, parsed.
type Config struct {
	bodies []*hclsyntax.Body
}

// Load parses every .tf file of dir.
func Load(dir string) (*Config, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.tf"))
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("no .tf files in %s", dir)
	}
	sort.Strings(files)
	p := hclparse.NewParser()
	c := &Config{}
	for _, name := range files {
		src, err := os.ReadFile(name)
		if err != nil {
			return nil, err
		}
		f, diags := p.ParseHCL(src, name)
		if diags.HasErrors() {
			return nil, fmt.Errorf("parsing %s: %w", name, diags)
		}
		c.bodies = append(c.bodies, f.Body.(*hclsyntax.Body))
	}
	return c, nil
}

// Resources returns the resource blocks of type typ.
func (c *Config) Resources(typ string) []*hclsyntax.Block {
	var out []*hclsyntax.Block
	for _, b := range c.bodies {
		for _, blk := range b.Blocks {
			if blk.Type == "resource" && len(blk.Labels) == 2 && blk.Labels[0] == typ {
				out = append(out, blk)
			}
		}
	}
	return out
}

// EvalContext returns a context in which vars (by name) have the given values
// and every other variable is unknown, with the locals evaluated as far as
// that allows. Resource and data references are unknown.
func (c *Config) EvalContext(vars map[string]cty.Value) *hcl.EvalContext {
	varVals := map[string]cty.Value{}
	for _, b := range c.bodies {
		for _, blk := range b.Blocks {
			if blk.Type == "variable" && len(blk.Labels) == 1 {
				varVals[blk.Labels[0]] = cty.DynamicVal
			}
		}
	}
	for k, v := range vars {
		varVals[k] = v
	}

	ctx := &hcl.EvalContext{
		Variables: map[string]cty.Value{
			"var":  cty.ObjectVal(varVals),
			"path": cty.ObjectVal(map[string]cty.Value{"module": cty.StringVal("."), "root": cty.StringVal("."), "cwd": cty.StringVal(".")}),
		},
		Functions: c.functions(),
	}
	// Every other root (resource types, data, terraform) is unknown.
	for _, b := range c.bodies {
		_ = hclsyntax.VisitAll(b, func(n hclsyntax.Node) hcl.Diagnostics {
			if e, ok := n.(hclsyntax.Expression); ok {
				for _, t := range e.Variables() {
					root := t.RootName()
					if _, ok := ctx.Variables[root]; !ok && root != "local" && root != "each" && root != "count" {
						ctx.Variables[root] = cty.DynamicVal
					}
				}
			}
			return nil
		})
	}

	// Locals, in dependency order: each pass evaluates those whose locals are
	// known; what cannot be evaluated (an error) stays unknown.
	pending := map[string]hcl.Expression{}
	for _, b := range c.bodies {
		for _, blk := range b.Blocks {
			if blk.Type == "locals" {
				for name, attr := range blk.Body.Attributes {
					pending[name] = attr.Expr
				}
			}
		}
	}
	locals := map[string]cty.Value{}
	for len(pending) > 0 {
		progress := false
		for name, expr := range pending {
			if !localsReady(expr, locals) {
				continue
			}
			ctx.Variables["local"] = cty.ObjectVal(locals)
			v, diags := expr.Value(ctx)
			if diags.HasErrors() {
				v = cty.DynamicVal
			}
			locals[name] = v
			delete(pending, name)
			progress = true
		}
		if !progress { // a cycle: leave the rest unknown
			for name := range pending {
				locals[name] = cty.DynamicVal
			}
			break
		}
	}
	ctx.Variables["local"] = cty.ObjectVal(locals)
	return ctx
}

func localsReady(expr hcl.Expression, locals map[string]cty.Value) bool {
	for _, t := range expr.Variables() {
		if t.RootName() != "local" || len(t) < 2 {
			continue
		}
		if a, ok := t[1].(hcl.TraverseAttr); ok {
			if _, done := locals[a.Name]; !done {
				return false
			}
		}
	}
	return true
}

// functions returns the Terraform functions that matter for names (from the
// cty standard library) and, for every other function the configuration
// calls, one that returns an unknown value.
func (c *Config) functions() map[string]function.Function {
	fns := map[string]function.Function{
		"concat":     stdlib.ConcatFunc,
		"contains":   stdlib.ContainsFunc,
		"flatten":    stdlib.FlattenFunc,
		"format":     stdlib.FormatFunc,
		"join":       stdlib.JoinFunc,
		"jsonencode": stdlib.JSONEncodeFunc,
		"keys":       stdlib.KeysFunc,
		"length":     stdlib.LengthFunc,
		"lookup":     stdlib.LookupFunc,
		"lower":      stdlib.LowerFunc,
		"max":        stdlib.MaxFunc,
		"merge":      stdlib.MergeFunc,
		"min":        stdlib.MinFunc,
		"replace":    stdlib.ReplaceFunc,
		"tostring":   stdlib.MakeToFunc(cty.String),
		"upper":      stdlib.UpperFunc,
		"values":     stdlib.ValuesFunc,
	}
	// nonsensitive: the value itself. Values here carry no sensitive marks;
	// whether an optional secret is set is switched on it (functions.tf).
	fns["nonsensitive"] = function.New(&function.Spec{
		Params: []function.Parameter{{Name: "value", Type: cty.DynamicPseudoType, AllowUnknown: true, AllowDynamicType: true, AllowNull: true, AllowMarked: true}},
		Type: func(args []cty.Value) (cty.Type, error) {
			return args[0].Type(), nil
		},
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
			v, _ := args[0].UnmarkDeep()
			return v, nil
		},
	})
	unknown := function.New(&function.Spec{
		VarParam: &function.Parameter{Name: "args", Type: cty.DynamicPseudoType, AllowUnknown: true, AllowDynamicType: true, AllowNull: true, AllowMarked: true},
		Type:     function.StaticReturnType(cty.DynamicPseudoType),
		Impl: func([]cty.Value, cty.Type) (cty.Value, error) {
			return cty.DynamicVal, nil
		},
	})
	for _, b := range c.bodies {
		_ = hclsyntax.VisitAll(b, func(n hclsyntax.Node) hcl.Diagnostics {
			if call, ok := n.(*hclsyntax.FunctionCallExpr); ok {
				if _, known := fns[call.Name]; !known {
					fns[call.Name] = unknown
				}
			}
			return nil
		})
	}
	return fns
}

// Instance is one instance of a resource block: its for_each key (empty
// without for_each) and the context its body is evaluated in.
type Instance struct {
	Key string
	Ctx *hcl.EvalContext
}

// Instances expands blk's for_each in ctx. The keys must be known.
func Instances(blk *hclsyntax.Block, ctx *hcl.EvalContext) ([]Instance, error) {
	attr, ok := blk.Body.Attributes["for_each"]
	if !ok {
		return []Instance{{Ctx: ctx}}, nil
	}
	v, diags := attr.Expr.Value(ctx)
	if diags.HasErrors() {
		return nil, diags
	}
	v, _ = v.UnmarkDeep()
	if !v.IsKnown() {
		return nil, fmt.Errorf("%s: for_each is unknown", blk.Labels[1])
	}
	var out []Instance
	for it := v.ElementIterator(); it.Next(); {
		k, val := it.Element()
		if !k.IsKnown() || k.Type() != cty.String {
			return nil, fmt.Errorf("%s: a for_each key is unknown", blk.Labels[1])
		}
		child := ctx.NewChild()
		child.Variables = map[string]cty.Value{
			"each": cty.ObjectVal(map[string]cty.Value{"key": k, "value": val}),
		}
		out = append(out, Instance{Key: k.AsString(), Ctx: child})
	}
	return out, nil
}

// Blocks returns the nested blocks of type typ in body, static ones and those
// a dynamic block generates, each with the context to evaluate it in.
func Blocks(body *hclsyntax.Body, typ string, ctx *hcl.EvalContext) ([]*hclsyntax.Body, []*hcl.EvalContext, error) {
	var bodies []*hclsyntax.Body
	var ctxs []*hcl.EvalContext
	for _, blk := range body.Blocks {
		switch {
		case blk.Type == typ:
			bodies, ctxs = append(bodies, blk.Body), append(ctxs, ctx)
		case blk.Type == "dynamic" && len(blk.Labels) == 1 && blk.Labels[0] == typ:
			iterator := typ
			if a, ok := blk.Body.Attributes["iterator"]; ok {
				iterator = hcl.ExprAsKeyword(a.Expr)
			}
			forEach, ok := blk.Body.Attributes["for_each"]
			if !ok {
				return nil, nil, fmt.Errorf("dynamic %q has no for_each", typ)
			}
			v, diags := forEach.Expr.Value(ctx)
			if diags.HasErrors() {
				return nil, nil, diags
			}
			v, _ = v.UnmarkDeep()
			if !v.IsKnown() {
				return nil, nil, fmt.Errorf("dynamic %q: for_each is unknown", typ)
			}
			var content *hclsyntax.Body
			for _, c := range blk.Body.Blocks {
				if c.Type == "content" {
					content = c.Body
				}
			}
			if content == nil {
				return nil, nil, fmt.Errorf("dynamic %q has no content", typ)
			}
			for it := v.ElementIterator(); it.Next(); {
				k, val := it.Element()
				child := ctx.NewChild()
				child.Variables = map[string]cty.Value{
					iterator: cty.ObjectVal(map[string]cty.Value{"key": k, "value": val}),
				}
				bodies, ctxs = append(bodies, content), append(ctxs, child)
			}
		}
	}
	return bodies, ctxs, nil
}

// String evaluates the attribute name of body to a known string.
func String(body *hclsyntax.Body, name string, ctx *hcl.EvalContext) (string, error) {
	attr, ok := body.Attributes[name]
	if !ok {
		return "", fmt.Errorf("no attribute %s", name)
	}
	v, diags := attr.Expr.Value(ctx)
	if diags.HasErrors() {
		return "", diags
	}
	v, _ = v.UnmarkDeep()
	if !v.IsKnown() || v.IsNull() || v.Type() != cty.String {
		return "", fmt.Errorf("%s is not a known string", name)
	}
	return v.AsString(), nil
}

// Keys evaluates the attribute name of body, a map or object, to its keys,
// sorted (see Map).
func Keys(body *hclsyntax.Body, name string, ctx *hcl.EvalContext) ([]string, error) {
	m, err := Map(body, name, ctx)
	if err != nil || m == nil {
		return nil, err
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys, nil
}

// Map evaluates the attribute name of body, a map or object, to its
// elements; the keys must be known, the values may be unknown. A missing
// attribute has none.
func Map(body *hclsyntax.Body, name string, ctx *hcl.EvalContext) (map[string]cty.Value, error) {
	attr, ok := body.Attributes[name]
	if !ok {
		return nil, nil
	}
	v, diags := attr.Expr.Value(ctx)
	if diags.HasErrors() {
		return nil, diags
	}
	v, _ = v.UnmarkDeep()
	if !v.IsKnown() {
		return nil, fmt.Errorf("%s: the keys are unknown", name)
	}
	if v.IsNull() {
		return nil, nil
	}
	ty := v.Type()
	if !ty.IsObjectType() && !ty.IsMapType() {
		return nil, fmt.Errorf("%s is a %s, not a map", name, ty.FriendlyName())
	}
	out := map[string]cty.Value{}
	for it := v.ElementIterator(); it.Next(); {
		k, val := it.Element()
		out[k.AsString()] = val
	}
	return out, nil
}
